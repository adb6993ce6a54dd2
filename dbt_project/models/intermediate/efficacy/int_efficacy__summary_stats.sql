-- The values behind the descriptive statistics of the efficacy summary: the ANL01FL records of the
-- EFFFL subjects, per efficacy parameter x analysis visit, and one row without a record (USUBJID,
-- AVAL, CHG NULL) for a parameter x visit that has none, so that it still gets its summary row.
-- marts.efficacy_summary computes the statistics from this view in one pass sorted by PARAMCD,
-- AVISITN, USUBJID. DuckDB's exact aggregates over it (`avg(x order by USUBJID)`, `quantile_cont`)
-- hold every value of every parameter x visit in memory and cannot spill; a sort spills.
{{ config(materialized='view') }}
with

efficacy_subjects as (
    select USUBJID from {{ ref('int_adsl') }} where EFFFL = 'Y'
),

analysed as (
    select adeff.USUBJID, adeff.PARAMCD, adeff.AVISITN, adeff.AVAL, adeff.CHG
    from {{ ref('int_efficacy__adeff') }} as adeff
    inner join efficacy_subjects using (USUBJID)
    where adeff.ANL01FL = 'Y'
),

-- Every efficacy parameter at every analysis visit, even with no record
grid as (
    select catalog.PARAMCD, catalog.PARAMN, visits.AVISIT, visits.AVISITN
    from {{ ref('parameter_catalog') }} as catalog
    cross join {{ ref('visit_windows') }} as visits
    where catalog.PARAMCD in ('{{ efficacy_paramcds() | join("', '") }}')
)

select
    grid.PARAMCD::varchar as PARAMCD,
    grid.PARAMN::integer as PARAMN,
    grid.AVISIT::varchar as AVISIT,
    grid.AVISITN::integer as AVISITN,
    analysed.USUBJID::varchar as USUBJID,
    analysed.AVAL::double as AVAL,
    analysed.CHG::double as CHG
from grid
left join analysed using (PARAMCD, AVISITN)
