-- SDTM RS: one row per NYHA class of an fs.csv assessment of a subject in DM (an empty NYHA was not
-- assessed: no row), as collected.
{{ incremental_by_site('USUBJID') }}
with

records as (
    select
        *,
        {{ iso_dtc('FSDTC_COLLECTED') }} as DTC,
        -- the delivered class (upper-cased) as its NYHAC term (2 or II -> NYHA CLASS II)
        {{ ct_term('NYHAC', 'upper(NYHA_COLLECTED)') }} as NYHA_TERM
    from ({{ collected_records('fs') }})
    where NYHA_COLLECTED is not null
)

select
    STUDYID,
    'RS' as DOMAIN,
    USUBJID,
    -- RSSEQ: the record's number in the site's fs.csv (macros/sdtm.sql record_sequence)
    RECORD_SEQ as RSSEQ,
    -- RSTESTCD / RSTEST: the NYHA class (CCRCLSCD NYHACLS, CCRCLS)
    {{ ct_term('CCRCLSCD', "'NYHA'") }} as RSTESTCD,
    {{ ct_term('CCRCLS', "'NYHA'") }} as RSTEST,
    -- RSCAT: NYHA (a sponsor term of CCCAT)
    'NYHA' as RSCAT,
    -- RSORRES: the class as delivered (I..IV or 1..4)
    NYHA_COLLECTED as RSORRES,
    -- RSSTRESC: the delivered class as its NYHAC term (2 or II -> NYHA CLASS II, matched
    -- upper-cased); NULL for a value outside I..IV / 1..4 (a data issue)
    NYHA_TERM as RSSTRESC,
    -- RSSTRESN: NULL (the standard result is a class name, not a number)
    null::double as RSSTRESN,
    -- RSLOBXFL: Y on the subject's last class with an RSSTRESC before the infusion (macros/sdtm.sql)
    {{ last_before_exposure_flag('USUBJID', 'NYHA_TERM', 'DTC', 'RFXSTDTC', 'RECORD_SEQ') }} as RSLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of RSDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- RSDTC: the assessment date as delivered (ISO 8601)
    DTC as RSDTC,
    -- RSDY: study day of RSDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as RSDY
from ({{ with_visit('records') }})
{{ record_order() }}
