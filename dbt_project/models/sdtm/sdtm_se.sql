-- SDTM SE: one row per subject of DM per element traversed. Every subject starts SCREENING at
-- consent (a subject whose consent date is not a date has no SCREENING row); an infused subject enters TREATMENT at the infusion and FOLLOW-UP at the start of study
-- day 6 (as macros/sdtm.sql epoch_of), once the subject's last date RFPENDTC reaches it. An element
-- ends where the next starts; the last one at RFPENDTC.
{{ incremental_by_site('USUBJID') }}
with

subjects as (
    select
        STUDYID,
        USUBJID,
        RFSTDTC,
        RFXSTDTC,
        RFICDTC,
        -- the last date: RFPENDTC, or the infusion (with its time) when RFPENDTC is its date
        case when left(RFXSTDTC, 10) >= RFPENDTC then RFXSTDTC else RFPENDTC end as RFPENDTC,
        -- FOLLOW-UP starts on study day 6: the infusion date + 5 days
        strftime(try_cast(left(RFXSTDTC, 10) as date) + 5, '%Y-%m-%d') as FUSTDTC
    from {{ ref('sdtm_dm') }}
    where {{ in_rebuilt_sites('USUBJID') }}
),

traversed as (
    -- SCREENING: consent to the infusion (never infused: to the last date); none without a consent
    -- date (SESTDTC is required; the missing date stays a data issue)
    select *, 'SCREENING' as SE_EPOCH, RFICDTC as SESTDTC, coalesce(RFXSTDTC, RFPENDTC) as SEENDTC
    from subjects
    where RFICDTC is not null
    union all
    -- TREATMENT: the infusion to the start of FOLLOW-UP, or to the last date when before it
    select *, 'TREATMENT', RFXSTDTC,
        case when RFPENDTC >= FUSTDTC then FUSTDTC else RFPENDTC end
    from subjects
    where RFXSTDTC is not null
    union all
    -- FOLLOW-UP: study day 6 to the last date
    select *, 'FOLLOW-UP', FUSTDTC, RFPENDTC
    from subjects
    where RFXSTDTC is not null and RFPENDTC >= FUSTDTC
)

select
    traversed.STUDYID,
    'SE' as DOMAIN,
    traversed.USUBJID,
    -- SESEQ: the element's planned order (TAETORD): the same in every refresh
    arms.TAETORD as SESEQ,
    arms.ETCD,
    elements.ELEMENT,
    arms.TAETORD,
    arms.EPOCH,
    traversed.SESTDTC,
    traversed.SEENDTC,
    -- SESTDY / SEENDY: study day against RFSTDTC, no day 0
    {{ study_day('traversed.SESTDTC', 'traversed.RFSTDTC') }} as SESTDY,
    {{ study_day('traversed.SEENDTC', 'traversed.RFSTDTC') }} as SEENDY
from traversed
-- the element of the epoch in the (single) arm's planned path
inner join {{ ref('trial_arms') }} as arms on arms.EPOCH = traversed.SE_EPOCH
inner join {{ ref('trial_elements') }} as elements on elements.ETCD = arms.ETCD
{{ record_order() }}
