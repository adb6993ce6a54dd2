-- SDTM QS: one row per qs.csv questionnaire item of a subject in DM whose instrument and item are
-- of the DTS lists and that was answered, as collected.
{{ incremental_by_site('USUBJID') }}
with

records as (
    select *, {{ iso_dtc('QSDTC_COLLECTED') }} as DTC, {{ parse_number('QSORRES_COLLECTED') }} as NUMBER
    from ({{ collected_records('qs') }})
    -- an instrument or item outside the DTS lists is a data issue: no question to tabulate; an item
    -- not answered was not done, for no reason collected (SDTM would want QSREASND): no row
    where QSCAT is not null and QSTESTCD is not null and QSORRES_COLLECTED is not null
)

select
    STUDYID,
    'QS' as DOMAIN,
    USUBJID,
    -- QSSEQ: the record's number in the site's qs.csv (macros/sdtm.sql record_sequence)
    RECORD_SEQ as QSSEQ,
    -- QSTESTCD / QSTEST: the delivered item code as its QSTESTCD / QSTEST term (MLHFQ and KCCQ-12:
    -- sponsor terms, the code as delivered; SF-12: SF12PCS -> SF12324, SF12MCS -> SF12325)
    {{ ct_term('QSTESTCD', 'QSTESTCD') }} as QSTESTCD,
    {{ ct_term('QSTEST', 'QSTESTCD') }} as QSTEST,
    -- QSCAT: the instrument as its QSCAT term (KCCQ12 -> KCCQ-12, SF12 -> SF12 V2.0 STANDARD)
    {{ ct_term('QSCAT', 'QSCAT') }} as QSCAT,
    -- QSORRES: the answer (or the site's score) as delivered; an out-of-range answer is kept
    QSORRES_COLLECTED as QSORRES,
    -- QSSTRESC / QSSTRESN: the answer as coded on the form, read under the transfer's decimal
    -- separator (a KCCQ 6 "does not apply" stays 6); NULL QSSTRESN and the delivered text in
    -- QSSTRESC when it is not a number
    coalesce({{ number_text('NUMBER') }}, QSORRES_COLLECTED) as QSSTRESC,
    NUMBER as QSSTRESN,
    -- QSLOBXFL: Y on the subject's last answer to the item before the infusion (macros/sdtm.sql)
    {{ last_before_exposure_flag('USUBJID, QSCAT, QSTESTCD', 'QSORRES_COLLECTED', 'DTC', 'RFXSTDTC', 'RECORD_SEQ') }} as QSLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of QSDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- QSDTC: the date the questionnaire was completed, as delivered (ISO 8601)
    DTC as QSDTC,
    -- QSDY: study day of QSDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as QSDY
from ({{ with_visit('records') }})
{{ record_order() }}
