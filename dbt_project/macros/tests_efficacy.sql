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

{#- The summary's counts are those of the records behind it: per PARAMCD x AVISITN, N and N_CHG equal
    the numbers of EFFFL subjects' ANL01FL records with an AVAL and a CHG. -#}
{% test efficacy_summary_counts_match(model, records, subjects) %}
with
expected as (
    select records.PARAMCD, records.AVISITN, count(records.AVAL) as N, count(records.CHG) as N_CHG
    from {{ records }} as records
    inner join {{ subjects }} as subjects using (USUBJID)
    where records.ANL01FL = 'Y' and subjects.EFFFL = 'Y'
    group by records.PARAMCD, records.AVISITN
)
select
    coalesce(summary.PARAMCD, expected.PARAMCD) as PARAMCD,
    coalesce(summary.AVISITN, expected.AVISITN) as AVISITN,
    summary.N, expected.N as EXPECTED_N, summary.N_CHG, expected.N_CHG as EXPECTED_N_CHG
from {{ model }} as summary
full outer join expected
    on summary.PARAMCD = expected.PARAMCD and summary.AVISITN = expected.AVISITN
where summary.PARAMCD is null
   or coalesce(summary.N, 0) <> coalesce(expected.N, 0)
   or coalesce(summary.N_CHG, 0) <> coalesce(expected.N_CHG, 0)
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
