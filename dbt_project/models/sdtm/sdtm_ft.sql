-- SDTM FT: one row per 6-minute walk distance of an fs.csv assessment of a subject in DM (an
-- empty SMWD was not measured: no row), as collected.
{{ incremental_by_site('USUBJID') }}
with

records as (
    select *, {{ iso_dtc('FSDTC_COLLECTED') }} as DTC, {{ parse_number('SMWD_COLLECTED') }} as NUMBER
    from ({{ collected_records('fs') }})
    where SMWD_COLLECTED is not null
),

walks as (
    select walks.*, catalog.PARAMU
    from ({{ with_visit('records') }}) as walks
    -- the distance's unit: the parameter catalog's (m)
    left join {{ ref('parameter_catalog') }} as catalog on catalog.SRCDOM = 'fs' and catalog.SRCVAR = 'SMWD'
)

select
    STUDYID,
    'FT' as DOMAIN,
    USUBJID,
    -- FTSEQ: the record's number in the site's fs.csv (macros/sdtm.sql record_sequence)
    RECORD_SEQ as FTSEQ,
    -- FTTESTCD / FTTEST / FTCAT: the 6-minute walk distance (SIXMW1TC SIXMW106, SIXMW1TN, FTCAT terms)
    {{ ct_term('SIXMW1TC', "'SMWD'") }} as FTTESTCD,
    {{ ct_term('SIXMW1TN', "'SMWD'") }} as FTTEST,
    'SIX MINUTE WALK' as FTCAT,
    -- FTORRES: the distance as delivered (an implausible value kept)
    SMWD_COLLECTED as FTORRES,
    -- FTORRESU / FTSTRESU: metres, as its UNIT term
    {{ ct_term('UNIT', 'PARAMU') }} as FTORRESU,
    -- FTSTRESC / FTSTRESN: the number read under the transfer's decimal separator; NULL FTSTRESN
    -- and the delivered text in FTSTRESC when it is not a number
    coalesce({{ number_text('NUMBER') }}, SMWD_COLLECTED) as FTSTRESC,
    NUMBER as FTSTRESN,
    {{ ct_term('UNIT', 'PARAMU') }} as FTSTRESU,
    -- FTLOBXFL: Y on the subject's last distance before the infusion (macros/sdtm.sql)
    {{ last_before_exposure_flag('USUBJID', 'SMWD_COLLECTED', 'DTC', 'RFXSTDTC', 'RECORD_SEQ') }} as FTLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of FTDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- FTDTC: the assessment date as delivered (ISO 8601)
    DTC as FTDTC,
    -- FTDY: study day of FTDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as FTDY
from walks
{{ record_order() }}
