-- SDTM AE: one row per ae.csv record of a subject in DM, as collected (latest good transfer).
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
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
),

-- a partial onset is placed as adae imputes it: on the infusion date when its period holds it,
-- else on the period's first day
onsets as (
    select *,
        case
            when length(AESTDTC) in (4, 7) and left(RFXSTDTC, length(AESTDTC)) = AESTDTC then left(RFXSTDTC, 10)
            when length(AESTDTC) in (4, 7) then left(AESTDTC || '-01-01', 10)
            else AESTDTC
        end as ONSET_FOR_EPOCH
    from events
)

select
    STUDYID,
    'AE' as DOMAIN,
    USUBJID,
    sequence.RECORD_SEQ as AESEQ,
    AESPID,
    AETERM,
    AEDECOD,
    AEBODSYS,
    AEBODSYS as AESOC,
    AESEV,
    AESER,
    AEREL,
    {{ ct_term('OUT', 'AEOUT') }} as AEOUT,
    {{ epoch_of('ONSET_FOR_EPOCH', 'RFXSTDTC') }} as EPOCH,
    AESTDTC,
    AEENDTC,
    {{ study_day('AESTDTC', 'RFSTDTC') }} as AESTDY,
    {{ study_day('AEENDTC', 'RFSTDTC') }} as AEENDY
from onsets
inner join sequence using (SITEID, RECID)
{{ record_order() }}
