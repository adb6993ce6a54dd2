-- ADSL, built first: one row per subject of each site's latest good transfer (stg_edc__dm), with the
-- populations (SAFFL, EFFFL) every other analysis dataset takes its subjects from. Published as
-- marts.adsl; read by the marts, the SDTM DM and the ADaM ADSL.
{{ incremental_by_site() }}
with

demographics as (
    select SITEID, SUBJID, USUBJID, SEX, BRTHYR, CONSDT, ICDIND, ICDIMP, ETIOLCONF
    from {{ ref('stg_edc__dm') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

-- baselines: the ABLFL record of each parameter the subject level carries
baselines as (
    select
        USUBJID,
        max(AVAL) filter (where PARAMCD = 'LVEFECHO') as BLVEF,
        max(AVAL) filter (where PARAMCD = 'NYHA') as BNYHA,
        max(AVAL) filter (where PARAMCD = 'NTPROBNP') as BNTPROBN,
        max(AVAL) filter (where PARAMCD = 'SMWD') as BSMWD
    from {{ ref('int_efficacy__analysis_visits') }}
    where ABLFL = 'Y' and {{ in_rebuilt_sites() }}
    group by USUBJID
),

-- EFFFL inputs: a baseline echo LVEF, and an echo LVEF used for Month 1, 3 or 6
echo_lvef as (
    select
        USUBJID,
        bool_or(ABLFL = 'Y' and AVAL is not null) as HAS_BASELINE,
        bool_or(ANL01FL = 'Y' and AVISITN in (1, 3, 6) and AVAL is not null) as HAS_POSTBASELINE
    from {{ ref('int_efficacy__analysis_visits') }}
    where PARAMCD = 'LVEFECHO' and {{ in_rebuilt_sites() }}
    group by USUBJID
),

subject_level as (
    select
        demographics.*,
        trt.TRTSDTM,
        trt.TRTSDT,
        eligibility.ELIGFL,
        disposition.COMPLFL,
        disposition.EOSSTT,
        disposition.EOSDT,
        disposition.DCSREAS,
        death.DTHFL,
        death.DTHDT,
        baselines.BLVEF,
        baselines.BNYHA,
        baselines.BNTPROBN,
        baselines.BSMWD,
        -- SAFFL: infused (the subject has a treatment start)
        case when trt.USUBJID is not null then 'Y' end as SAFFL,
        -- EFFFL: SAFFL with a baseline echo LVEF and an analysed echo LVEF at Month 1, 3 or 6
        case
            when trt.USUBJID is not null and echo_lvef.HAS_BASELINE and echo_lvef.HAS_POSTBASELINE
                then 'Y'
        end as EFFFL
    from demographics
    left join {{ ref('int_treatment_start') }} as trt using (USUBJID)
    left join {{ ref('int_safety__eligibility') }} as eligibility using (USUBJID)
    left join {{ ref('int_safety__disposition') }} as disposition using (USUBJID)
    left join {{ ref('int_safety__death') }} as death using (USUBJID)
    left join baselines using (USUBJID)
    left join echo_lvef using (USUBJID)
)

select
    'NCT04325594' as STUDYID,
    USUBJID,
    SUBJID,
    SITEID,
    SEX,
    -- AGE: consent year minus birth year
    (year(CONSDT) - BRTHYR)::integer as AGE,
    'YEARS' as AGEU,
    CONSDT,
    TRTSDTM,
    TRTSDT,
    ICDIND,
    ICDIMP,
    ETIOLCONF,
    ELIGFL,
    SAFFL,
    EFFFL,
    COMPLFL,
    DTHFL,
    DTHDT,
    -- EOSSTT: ONGOING when the subject has no disposition record at all
    coalesce(EOSSTT, 'ONGOING') as EOSSTT,
    EOSDT,
    DCSREAS,
    BLVEF::double as BLVEF,
    BNYHA::double as BNYHA,
    BNTPROBN::double as BNTPROBN,
    BSMWD::double as BSMWD
from subject_level
