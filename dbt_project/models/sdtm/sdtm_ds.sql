-- SDTM DS: informed consent (a protocol milestone from dm.csv) and the ds.csv disposition events,
-- of the subjects in DM.
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
{{ incremental_by_site('USUBJID') }}
with

consent as (
    select
        STUDYID, SITEID, USUBJID, RFXSTDTC, RFSTDTC,
        'INFORMED CONSENT OBTAINED' as DSTERM,
        'INFORMED CONSENT OBTAINED' as DSDECOD,
        'PROTOCOL MILESTONE' as DSCAT,
        RFICDTC as DSSTDTC,
        0 as RECORD_SEQ
    from {{ ref('sdtm_dm') }}
    where {{ in_rebuilt_sites() }}
),

sequence as (
    {{ record_sequence('ds') }}
),

disposition as (
    select
        dm.STUDYID, ds.SITEID, ds.USUBJID, dm.RFXSTDTC, dm.RFSTDTC,
        ds.DSDECOD as DSTERM,
        {{ ct_term('NCOMPLT', 'ds.DSDECOD') }} as DSDECOD,
        'DISPOSITION EVENT' as DSCAT,
        strftime(ds.DSSTDT, '%Y-%m-%d') as DSSTDTC,
        sequence.RECORD_SEQ
    from {{ ref('stg_edc__ds') }} as ds
    inner join {{ ref('sdtm_dm') }} as dm using (USUBJID)
    inner join sequence on sequence.SITEID = ds.SITEID and sequence.RECID = ds.RECID
    -- a record whose DSDECOD is missing or outside the DTS list has no term to tabulate (a data issue)
    where ds.DSDECOD is not null and {{ in_rebuilt_sites('ds.SITEID') }}
)

select
    STUDYID,
    'DS' as DOMAIN,
    USUBJID,
    RECORD_SEQ + 1 as DSSEQ,
    DSTERM,
    DSDECOD,
    DSCAT,
    {{ epoch_of('DSSTDTC', 'RFXSTDTC') }} as EPOCH,
    DSSTDTC,
    {{ study_day('DSSTDTC', 'RFSTDTC') }} as DSSTDY
from (select * from consent union all by name select * from disposition)
{{ record_order() }}
