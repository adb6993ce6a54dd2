-- ADaM ADAE (OCCDS 1.1): marts.adae's adverse events and values, with ADSL's treatment variables
-- and each record's SDTM AE record (SRCDOM / SRCVAR / SRCSEQ).
-- Each variable's rule: its description in _adam__models.yml (define.xml's method or comment).
{{ incremental_by_site('USUBJID') }}
with

events as (
    select *, {{ site_of('USUBJID') }} as SITEID
    from {{ ref('int_safety__adae') }}
    where {{ in_rebuilt_sites('USUBJID') }}
),

subjects as (
    select USUBJID, TRT01P, TRT01A, TRTSDT, SAFFL
    from {{ ref('adam_adsl') }}
    where {{ in_rebuilt_sites() }}
),

-- AESEQ of each ae.csv record, as sdtm_ae numbers it (macros/sdtm.sql record_sequence)
sequence as (
    {{ record_sequence('ae') }}
)

select
    events.STUDYID,
    events.USUBJID,
    subjects.TRT01P as TRTP,
    subjects.TRT01A as TRTA,
    subjects.TRTSDT,
    subjects.SAFFL,
    events.AESPID,
    events.AETERM,
    events.AEDECOD,
    events.AEBODSYS,
    events.ASTDTM,
    events.ASTDT,
    events.ASTDTF,
    events.AENDT,
    events.ASTDY,
    events.TRTEMFL,
    events.PRIMWFL,
    events.AESER,
    events.AESEV,
    events.AREL,
    -- AEOUT: the outcome as SDTM AE submits it (its OUT term, as sdtm_ae maps it), not as delivered
    {{ ct_term('OUT', 'events.AEOUT') }} as AEOUT,
    'AE' as SRCDOM,
    'AETERM' as SRCVAR,
    sequence.RECORD_SEQ as SRCSEQ
from events
-- left: a record of a subject missing from ADSL stays, for the gate to name it
left join subjects using (USUBJID)
left join sequence on sequence.SITEID = events.SITEID and sequence.RECID = events.SRCRECID
{{ record_order() }}
