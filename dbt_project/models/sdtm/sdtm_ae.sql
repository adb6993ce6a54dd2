-- SDTM AE: one row per ae.csv record of a subject in DM, as collected (latest good transfer).
{{ incremental_by_site('USUBJID') }}
with

events as (
    select ae.*, dm.STUDYID, dm.RFSTDTC, dm.RFXSTDTC
    from {{ ref('stg_edc__ae') }} as ae
    -- a record of a subject not in dm.csv is not tabulated (it stays a data issue)
    inner join {{ ref('sdtm_dm') }} as dm using (USUBJID)
    where {{ in_rebuilt_sites('ae.SITEID') }}
),

sequence as (
    {{ record_sequence('ae') }}
)

select
    STUDYID,
    'AE' as DOMAIN,
    USUBJID,
    -- AESEQ: the record's number in the site's ae.csv (macros/sdtm.sql record_sequence)
    sequence.RECORD_SEQ as AESEQ,
    AESPID,
    AETERM,
    AEDECOD,
    AEBODSYS,
    AESEV,
    AESER,
    AEREL,
    -- AEOUT: the collected outcome as its OUT codelist term
    {{ ct_term('OUT', 'AEOUT') }} as AEOUT,
    -- EPOCH: of the onset date (NULL for a partial onset)
    {{ epoch_of('AESTDTC', 'RFXSTDTC') }} as EPOCH,
    -- AESTDTC / AEENDTC: as collected, partial dates kept partial
    AESTDTC,
    AEENDTC,
    -- AESTDY / AEENDY: study day of a full date against RFSTDTC, no day 0; NULL when partial
    {{ study_day('AESTDTC', 'RFSTDTC') }} as AESTDY,
    {{ study_day('AEENDTC', 'RFSTDTC') }} as AEENDY
from events
inner join sequence using (SITEID, RECID)
order by USUBJID, AESEQ
