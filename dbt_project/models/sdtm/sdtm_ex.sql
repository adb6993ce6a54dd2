-- SDTM EX: one row per ex.csv infusion record of a subject in DM, as collected.
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
{{ incremental_by_site('USUBJID') }}
with

infusions as (
    select ex.*, dm.STUDYID, dm.RFSTDTC, dm.RFXSTDTC
    from {{ ref('stg_edc__ex') }} as ex
    inner join {{ ref('sdtm_dm') }} as dm using (USUBJID)
    where {{ in_rebuilt_sites('ex.SITEID') }}
),

sequence as (
    {{ record_sequence('ex') }}
)

select
    STUDYID,
    'EX' as DOMAIN,
    USUBJID,
    sequence.RECORD_SEQ as EXSEQ,
    'UMBILICAL CORD MESENCHYMAL STEM CELLS' as EXTRT,
    EXDOSE,
    'Therapeutic Cells' as EXDOSU,
    'INJECTION, SUSPENSION' as EXDOSFRM,
    'ONCE' as EXDOSFRQ,
    {{ ct_term('ROUTE', 'EXROUTE') }} as EXROUTE,
    EXLOT,
    {{ ct_term('LOC', 'EXLOC') }} as EXLOC,
    {{ epoch_of('EXSTDTC', 'RFXSTDTC') }} as EPOCH,
    EXSTDTC,
    EXSTDTC as EXENDTC,
    {{ study_day('EXSTDTC', 'RFSTDTC') }} as EXSTDY,
    {{ study_day('EXSTDTC', 'RFSTDTC') }} as EXENDY
from infusions
inner join sequence using (SITEID, RECID)
where EXSTDTC is not null
{{ record_order() }}
