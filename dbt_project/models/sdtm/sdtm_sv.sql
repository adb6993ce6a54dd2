-- SDTM SV: one row per subject and visit the site recorded in sv.csv, of a subject in DM.
{{ incremental_by_site('USUBJID') }}
with

records as (
    select *, {{ iso_dtc('SVSTDTC_COLLECTED') }} as DTC
    from ({{ collected_records('sv') }})
    -- a visit outside the DTS list (or missing), or an unscheduled one without a date, is a data
    -- issue and no visit to tabulate
    where VISIT in (select CODE from {{ ref('code_lists') }} where LIST_NAME = 'VISIT')
        and (VISIT <> 'UNSCHEDULED' or DTC is not null)
),

-- one visit per subject and scheduled VISIT (its records' dates span it), and per subject and
-- date for UNSCHEDULED
visits as (
    select
        STUDYID, USUBJID, VISIT, RFSTDTC, RFXSTDTC,
        min(DTC) as SVSTDTC,
        max(DTC) as SVENDTC,
        {{ scheduled_visitnum('VISIT') }} as SCHEDULED_VISITNUM
    from records
    group by STUDYID, USUBJID, VISIT, RFSTDTC, RFXSTDTC, case when VISIT = 'UNSCHEDULED' then DTC end
),

-- an unscheduled visit comes after the latest scheduled visit of the subject on or before its date
unscheduled as (
    select
        unscheduled.USUBJID,
        unscheduled.SVSTDTC,
        coalesce(max(scheduled.SCHEDULED_VISITNUM), 0) as PRECEDING_VISITNUM
    from visits as unscheduled
    left join visits as scheduled
        on scheduled.USUBJID = unscheduled.USUBJID
        and scheduled.SCHEDULED_VISITNUM is not null
        and scheduled.SVSTDTC <= unscheduled.SVSTDTC
    where unscheduled.VISIT = 'UNSCHEDULED'
    group by unscheduled.USUBJID, unscheduled.SVSTDTC
)

select
    visits.STUDYID,
    'SV' as DOMAIN,
    visits.USUBJID,
    -- VISITNUM: the scheduled visit's number (macros/sdtm.sql scheduled_visitnum); an UNSCHEDULED
    -- visit the preceding scheduled visit's number + 0.01 x its rank by date among the unscheduled
    -- visits after that one (e.g. 8.01 after MONTH 1)
    coalesce(
        visits.SCHEDULED_VISITNUM::double,
        round(unscheduled.PRECEDING_VISITNUM + 0.01 * row_number() over (
            partition by visits.USUBJID, unscheduled.PRECEDING_VISITNUM order by visits.SVSTDTC
        ), 2)
    ) as VISITNUM,
    -- VISIT: the nominal visit as the site recorded it
    visits.VISIT,
    -- EPOCH: of the visit's start date
    {{ epoch_of('visits.SVSTDTC', 'visits.RFXSTDTC') }} as EPOCH,
    -- SVSTDTC / SVENDTC: the earliest and latest date the site recorded for the visit (one record: the same)
    visits.SVSTDTC,
    visits.SVENDTC,
    -- SVSTDY / SVENDY: study day against RFSTDTC, no day 0
    {{ study_day('visits.SVSTDTC', 'visits.RFSTDTC') }} as SVSTDY,
    {{ study_day('visits.SVENDTC', 'visits.RFSTDTC') }} as SVENDY
from visits
left join unscheduled
    on visits.VISIT = 'UNSCHEDULED' and unscheduled.USUBJID = visits.USUBJID and unscheduled.SVSTDTC = visits.SVSTDTC
{{ record_order() }}
