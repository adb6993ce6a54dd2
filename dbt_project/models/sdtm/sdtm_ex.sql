-- SDTM EX: one row per ex.csv infusion record of a subject in DM, as collected.
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
    -- EXSEQ: the record's number in the site's ex.csv (macros/sdtm.sql record_sequence)
    sequence.RECORD_SEQ as EXSEQ,
    -- EXTRT: the study treatment (protocol)
    'UMBILICAL CORD MESENCHYMAL STEM CELLS' as EXTRT,
    -- EXDOSE / EXDOSU: the collected number of cells
    EXDOSE,
    'Therapeutic Cells' as EXDOSU,
    -- EXDOSFRM: a cell suspension for injection (protocol)
    'INJECTION, SUSPENSION' as EXDOSFRM,
    -- EXDOSFRQ: a single infusion (protocol)
    'ONCE' as EXDOSFRQ,
    -- EXROUTE / EXLOC: as collected, as their ROUTE / LOC codelist terms
    {{ ct_term('ROUTE', 'EXROUTE') }} as EXROUTE,
    {{ ct_term('LOC', 'EXLOC') }} as EXLOC,
    EXLOT,
    -- EPOCH: TREATMENT (the infusion starts the epoch)
    {{ epoch_of('EXSTDTC', 'RFXSTDTC') }} as EPOCH,
    -- EXSTDTC / EXENDTC: the infusion as collected (one infusion: start and end are the same)
    EXSTDTC,
    EXSTDTC as EXENDTC,
    -- EXSTDY / EXENDY: study day against RFSTDTC
    {{ study_day('EXSTDTC', 'RFSTDTC') }} as EXSTDY,
    {{ study_day('EXSTDTC', 'RFSTDTC') }} as EXENDY
from infusions
inner join sequence using (SITEID, RECID)
where EXSTDTC is not null
order by USUBJID, EXSEQ
