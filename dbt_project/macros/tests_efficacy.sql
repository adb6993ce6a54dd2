{#- Generic data tests of the efficacy models (no dbt_utils here). -#}

{#- The parameters of a seed/model column are exactly the efficacy parameters (efficacy_paramcds). -#}
{% test efficacy_parameters_match(model, column_name) %}
with
expected as (
    {% for paramcd in efficacy_paramcds() -%}
    select '{{ paramcd }}' as PARAMCD{% if not loop.last %} union all {% endif %}
    {% endfor %}
),
actual as (
    select distinct {{ column_name }} as PARAMCD from {{ model }}
)
select coalesce(expected.PARAMCD, actual.PARAMCD) as PARAMCD,
       case when expected.PARAMCD is null then 'not an efficacy parameter' else 'missing' end as PROBLEM
from expected
full outer join actual using (PARAMCD)
where expected.PARAMCD is null or actual.PARAMCD is null
{% endtest %}

{#- The grid has exactly one row per subject x visit: every pair present, nothing else. -#}
{% test efficacy_grid_complete(model, subjects, visits) %}
with
expected as (
    select subjects.USUBJID, visits.AVISITN
    from {{ subjects }} as subjects
    cross join {{ visits }} as visits
),
actual as (
    select USUBJID, AVISITN from {{ model }}
)
select coalesce(expected.USUBJID, actual.USUBJID) as USUBJID,
       coalesce(expected.AVISITN, actual.AVISITN) as AVISITN,
       case when actual.USUBJID is null then 'missing' else 'unexpected' end as PROBLEM
from expected
full outer join actual
    on expected.USUBJID = actual.USUBJID and expected.AVISITN = actual.AVISITN
where expected.USUBJID is null or actual.USUBJID is null
{% endtest %}
