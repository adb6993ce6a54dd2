-- SDTM TS: the trial's summary parameters (seed trial_summary: the protocol's facts and decisions),
-- with the values the data give (study start and end, subjects, data cutoff, arms, length).
-- Trial design: not per site, built whole in every build from every site's rows.
{{ config(materialized='table') }}

with

subjects as (
    select
        -- SSTDTC: the earliest informed consent of a subject in DM (FDA TCG)
        min(RFICDTC) as SSTDTC,
        -- SENDTC: the last participation date of a subject in DM, once every subject in DM has a
        -- disposition event (until then the study has not ended: NAV)
        case
            when count(*) = count(ENDED.USUBJID) then max(RFPENDTC)
        end as SENDTC,
        -- ACTSUB: the subjects enrolled, i.e. in DM and not screen failures (assigned, infused or not)
        count(*) filter (where ARMNRS is distinct from 'SCREEN FAILURE') as ACTSUB
    from {{ ref('sdtm_dm') }} as dm
    left join (
        select distinct USUBJID from {{ ref('sdtm_ds') }} where DSCAT = 'DISPOSITION EVENT'
    ) as ENDED using (USUBJID)
),

derived as (
    select 'SSTDTC' as TSPARMCD, SSTDTC as VALUE from subjects
    union all select 'SENDTC', SENDTC from subjects
    union all select 'ACTSUB', cast(ACTSUB as varchar) from subjects
    -- DCUTDTC: the latest extraction date of the sites' latest good transfers
    union all select 'DCUTDTC', strftime(max(EXTRACT_DATE), '%Y-%m-%d') from {{ ref('stg_edc__latest_transfers') }}
    -- NARMS: the arms of TA
    union all select 'NARMS', cast(count(distinct ARMCD) as varchar) from {{ ref('trial_arms') }}
    -- LENGTH: a subject's planned time in the trial, the infusion to the last visit's target day
    union all select 'LENGTH', 'P' || max(TARGET_DAY) || 'D' from {{ ref('visit_windows') }}
),

parameters as (
    select
        summary.TSSEQ,
        summary.TSPARMCD,
        summary.VALUE_CODELIST,
        summary.TSVCDREF,
        summary.TSVALNF,
        summary.TSVALCD,
        coalesce(derived.VALUE, summary.TSVAL) as TSVAL
    from {{ ref('trial_summary') }} as summary
    left join derived using (TSPARMCD)
)

select
    'NCT04325594' as STUDYID,
    'TS' as DOMAIN,
    TSSEQ,
    TSPARMCD,
    -- TSPARM: the parameter's name (sdtm_terminology TSPARMCD decode)
    (select ct.DECODE from {{ ref('sdtm_terminology') }} as ct where ct.CODELIST = 'TSPARMCD' and ct.TERM = TSPARMCD) as TSPARM,
    TSVAL,
    -- TSVALNF: the seed's null flavor; NAV for a value the data do not give yet (the study's end)
    case when TSVAL is null then coalesce(TSVALNF, 'NAV') end as TSVALNF,
    -- TSVALCD: the C-code of a CDISC CT value (its codelist in the seed), else the seed's code
    coalesce(
        (select ct.TERM_CODE from {{ ref('sdtm_terminology') }} as ct where ct.CODELIST = VALUE_CODELIST and ct.TERM = TSVAL),
        TSVALCD
    ) as TSVALCD,
    -- TSVCDREF / TSVCDVER: the reference of a value; the CT package's date for CDISC CT
    case when TSVAL is not null then TSVCDREF end as TSVCDREF,
    case when TSVAL is not null and TSVCDREF = 'CDISC CT' then '2025-03-28' end as TSVCDVER
from parameters
order by TSPARMCD, TSSEQ
