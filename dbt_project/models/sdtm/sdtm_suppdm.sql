-- SDTM SUPPDM: the dm.csv fields DM has no variable for, one row per subject and field collected.
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
{{ incremental_by_site('USUBJID') }}
with

collected as (
    select dm.STUDYID, dm.USUBJID, stg_dm.ICDIND, stg_dm.ICDIMP, stg_dm.ETIOLCONF
    from {{ ref('sdtm_dm') }} as dm
    inner join {{ ref('stg_edc__dm') }} as stg_dm
        on stg_dm.USUBJID = dm.USUBJID and not stg_dm.ROW_EXCLUDED
    where {{ in_rebuilt_sites('dm.SITEID') }}
),

qualifiers as (
    unpivot collected on ICDIND, ICDIMP, ETIOLCONF into name FIELD value QVAL
),

named as (
    -- QNAM has at most 8 characters: ETIOLCONF is ETIOLCNF (the QNAM codelist's COLLECTED form)
    select *, {{ ct_term('QNAM', 'FIELD') }} as QNAM from qualifiers
)

select
    STUDYID,
    'DM' as RDOMAIN,
    USUBJID,
    cast(null as varchar) as IDVAR,
    cast(null as varchar) as IDVARVAL,
    QNAM,
    (select ct.DECODE from {{ ref('sdtm_terminology') }} as ct where ct.CODELIST = 'QNAM' and ct.TERM = QNAM) as QLABEL,
    QVAL,
    'CRF' as QORIG,
    cast(null as varchar) as QEVAL
from named
where QVAL is not null
order by USUBJID, QNAM
