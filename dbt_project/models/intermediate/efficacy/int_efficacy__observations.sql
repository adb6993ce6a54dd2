-- Efficacy observations of SAFFL subjects: every analysable source value of the measured parameters
-- and every questionnaire score, with its study day and whether it was taken before the infusion.
{{ incremental_by_site() }}
with

treatment_start as (
    select STUDYID, USUBJID, TRTSDTM, TRTSDT
    from {{ ref('int_treatment_start') }}
    where {{ in_rebuilt_sites() }}
),

catalog as (
    select PARAMCD, PARAM, PARAMU, PARAMN, SRCDOM
    from {{ ref('parameter_catalog') }}
),

measured as (
    select SITEID, USUBJID, PARAMCD, PARAM, PARAMU, PARAMN, SRCDOM, SRCRECID, SOURCE_LINE, VISIT,
           ADT, ADTM, AVAL, AVALC, BLQFL, ALQFL
    from {{ ref('int_assessments') }}
    where {{ in_rebuilt_sites() }}
),

-- Questionnaire scores: date-only, SRCDOM 'qs', no single source record (SRCRECID NULL)
scored as (
    select
        scores.SITEID, scores.USUBJID, scores.PARAMCD,
        catalog.PARAM, catalog.PARAMU, catalog.PARAMN, catalog.SRCDOM,
        null::varchar as SRCRECID,
        scores.SOURCE_LINE, scores.VISIT, scores.ADT,
        null::timestamp as ADTM,
        scores.AVAL,
        null::varchar as AVALC,
        null::varchar as BLQFL,
        null::varchar as ALQFL
    from {{ ref('int_efficacy__questionnaire_scores') }} as scores
    inner join catalog using (PARAMCD)
    where {{ in_rebuilt_sites('scores.SITEID') }}
),

observations as (
    select * from measured
    union all by name
    select * from scored
),

-- SAFFL subjects only (those with a treatment start), the contract's efficacy parameters only; a
-- value needs a date and a number
saffl_observations as (
    select observations.*, treatment_start.STUDYID, treatment_start.TRTSDT, treatment_start.TRTSDTM
    from observations
    inner join treatment_start using (USUBJID)
    where observations.PARAMCD in ('{{ efficacy_paramcds() | join("', '") }}')
      and observations.ADT is not null
      and observations.AVAL is not null
),

-- ADY: study day of ADT, no day 0
with_study_day as (
    select *, {{ efficacy_study_day('ADT') }} as ADY
    from saffl_observations
),

-- PREINFFL: taken before the infusion (on the infusion date: date-only, infusion without time, or
-- timed at or before TRTSDTM)
with_phase as (
    select *, case when {{ efficacy_is_pre_infusion() }} then 'Y' end as PREINFFL
    from with_study_day
)

select
    STUDYID, SITEID, USUBJID, PARAMCD, PARAM, PARAMU, PARAMN::integer as PARAMN, SRCDOM,
    SRCRECID::varchar as SRCRECID, SOURCE_LINE, VISIT, ADT, ADTM, TRTSDT, TRTSDTM, ADY, PREINFFL,
    AVAL::double as AVAL, AVALC, BLQFL, ALQFL
from with_phase
