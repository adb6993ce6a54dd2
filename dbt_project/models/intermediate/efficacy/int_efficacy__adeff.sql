-- ADEFF's records: one row per SAFFL subject x parameter x analysed date (two on the infusion date
-- when it has pre- and post-infusion values), with analysis visit, baseline and change. Published
-- as marts.adeff; read by the marts, the efficacy summary and the ADaM ADEFF.
{{ incremental_by_site() }}
with

analysis_visits as (
    select * from {{ ref('int_efficacy__analysis_visits') }}
    where {{ in_rebuilt_sites() }}
),

-- BASE: the AVAL of the baseline record (ABLFL), on every record of the subject's parameter
baselines as (
    select USUBJID, PARAMCD, AVAL as BASE
    from analysis_visits
    where ABLFL = 'Y'
),

with_base as (
    select analysis_visits.*, baselines.BASE
    from analysis_visits
    left join baselines using (USUBJID, PARAMCD)
),

-- CHG: AVAL - BASE on every post-infusion record, windowed or not; NULL before the infusion
with_change as (
    select *, case when PREINFFL is null then AVAL - BASE end as CHG
    from with_base
),

-- PCHG: 100 * CHG / BASE; NULL where CHG is, or when BASE is 0
with_percent_change as (
    select *, case when BASE <> 0 then 100 * CHG / BASE end as PCHG
    from with_change
)

select
    STUDYID::varchar as STUDYID,
    USUBJID::varchar as USUBJID,
    PARAMCD::varchar as PARAMCD,
    PARAM::varchar as PARAM,
    PARAMU::varchar as PARAMU,
    ADT::date as ADT,
    ADY::integer as ADY,
    AVISIT::varchar as AVISIT,
    AVISITN::integer as AVISITN,
    AVAL::double as AVAL,
    AVALC::varchar as AVALC,
    BASE::double as BASE,
    CHG::double as CHG,
    PCHG::double as PCHG,
    ABLFL::varchar as ABLFL,
    ANL01FL::varchar as ANL01FL,
    BLQFL::varchar as BLQFL,
    ALQFL::varchar as ALQFL,
    SRCDOM::varchar as SRCDOM,
    SRCRECID::varchar as SRCRECID,
    -- extra columns (after the contract's)
    SITEID::varchar as SITEID,
    PARAMN::integer as PARAMN,
    ADTM::timestamp as ADTM,
    VISIT::varchar as VISIT,
    PREINFFL::varchar as PREINFFL,
    NVAL::integer as NVAL
from with_percent_change
