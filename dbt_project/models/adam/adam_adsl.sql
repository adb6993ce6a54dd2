-- ADaM ADSL: marts.adsl's subjects and values, with what ADaMIG 1.3 adds to a subject-level
-- dataset: the arm and treatment variables, the treatment dates, population flags Y/N.
-- Each variable's rule: its description in _adam__models.yml (define.xml's method or comment).
{{ incremental_by_site() }}
with

subjects as (
    select * from {{ ref('int_adsl') }}
    where {{ in_rebuilt_sites() }}
),

demographics as (
    select USUBJID, ARM, ACTARM
    from {{ ref('sdtm_dm') }}
    where {{ in_rebuilt_sites('USUBJID') }}
)

select
    subjects.STUDYID,
    subjects.USUBJID,
    subjects.SUBJID,
    subjects.SITEID,
    subjects.AGE,
    subjects.AGEU,
    subjects.SEX,
    -- RACE: not collected (the DTS delivers none); ADaMIG requires the variable in ADSL
    null::varchar as RACE,
    demographics.ARM,
    demographics.ACTARM,
    -- TRT01P: the planned treatment of the subject's arm (DM.ARM; NULL when never assigned)
    demographics.ARM as TRT01P,
    -- TRT01A: the treatment actually received (DM.ACTARM; NULL when never infused)
    demographics.ACTARM as TRT01A,
    subjects.TRTSDTM,
    subjects.TRTSDT,
    -- TRTEDTM / TRTEDT: a single infusion, so the last exposure is the first
    subjects.TRTSDTM as TRTEDTM,
    subjects.TRTSDT as TRTEDT,
    subjects.CONSDT,
    subjects.ICDIND,
    subjects.ICDIMP,
    subjects.ETIOLCONF as ETIOCONF,
    -- population flags: marts.adsl's Y, else N (ADaMIG: never NULL in ADSL)
    coalesce(subjects.ELIGFL, 'N') as ELIGFL,
    coalesce(subjects.SAFFL, 'N') as SAFFL,
    coalesce(subjects.EFFFL, 'N') as EFFFL,
    coalesce(subjects.COMPLFL, 'N') as COMPLFL,
    subjects.DTHFL,
    subjects.DTHDT,
    subjects.EOSSTT,
    subjects.EOSDT,
    subjects.DCSREAS,
    subjects.BLVEF,
    subjects.BNYHA,
    subjects.BNTPROBN,
    subjects.BSMWD
from subjects
-- every marts.adsl subject is in sdtm.dm (one row each): a left join keeps them all regardless
left join demographics using (USUBJID)
{{ record_order() }}
