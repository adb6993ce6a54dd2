-- Contract marts.subject_visits: one row per SAFFL subject x analysis visit (Baseline, Month 1,
-- Month 3, Month 6), present even when the visit is missing, with each parameter's ANL01FL value.
{{ incremental_by_site('USUBJID') }}
with

subjects as (
    select USUBJID from {{ ref('int_treatment_start') }}
    where {{ in_rebuilt_sites() }}
),

visits as (
    select AVISIT, AVISITN from {{ ref('visit_windows') }}
),

-- The grid: every SAFFL subject at every analysis visit
grid as (
    select subjects.USUBJID, visits.AVISIT, visits.AVISITN
    from subjects
    cross join visits
),

-- The one record used for each subject, parameter and analysis visit
analysed as (
    select USUBJID, AVISITN, PARAMCD, AVAL
    from {{ ref('int_efficacy__adeff') }}
    where ANL01FL = 'Y' and {{ in_rebuilt_sites() }}
),

-- One column per parameter holding its ANL01FL AVAL (NULL when missing)
pivoted as (
    select
        grid.USUBJID,
        grid.AVISIT,
        grid.AVISITN,
        {%- for paramcd in efficacy_paramcds() %}
        max(analysed.AVAL) filter (where analysed.PARAMCD = '{{ paramcd }}') as {{ paramcd }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from grid
    left join analysed using (USUBJID, AVISITN)
    group by grid.USUBJID, grid.AVISIT, grid.AVISITN
)

select
    USUBJID::varchar as USUBJID,
    AVISIT::varchar as AVISIT,
    AVISITN::integer as AVISITN,
    {%- for paramcd in efficacy_paramcds() %}
    {{ paramcd }}::double as {{ paramcd }},
    {%- endfor %}
    -- NPARAM: how many of the parameters are present at the visit
    (
        {%- for paramcd in efficacy_paramcds() %}
        ({{ paramcd }} is not null)::integer{% if not loop.last %} +{% endif %}
        {%- endfor %}
    )::integer as NPARAM
from pivoted
order by USUBJID, AVISITN
