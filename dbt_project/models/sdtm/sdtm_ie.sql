-- SDTM IE: the inclusion criteria not met (IEORRES N) and exclusion criteria met (IEORRES Y) of the
-- subjects in DM; criteria that were as required are not tabulated (SDTMIG 3.4, IE).
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
{{ incremental_by_site('USUBJID') }}
with

criteria as (
    select ie.*, dm.STUDYID, dm.RFXSTDTC
    from {{ ref('stg_edc__ie') }} as ie
    inner join {{ ref('sdtm_dm') }} as dm using (USUBJID)
    where {{ in_rebuilt_sites('ie.SITEID') }}
      and (ie.IETESTCD like 'IN%' and ie.IEORRES = 'N' or ie.IETESTCD like 'EX%' and ie.IEORRES = 'Y')
),

sequence as (
    {{ record_sequence('ie') }}
)

select
    STUDYID,
    'IE' as DOMAIN,
    USUBJID,
    sequence.RECORD_SEQ as IESEQ,
    IETESTCD,
    (select ct.DECODE from {{ ref('sdtm_terminology') }} as ct where ct.CODELIST = 'IETESTCD' and ct.TERM = IETESTCD) as IETEST,
    case when IETESTCD like 'IN%' then 'INCLUSION' else 'EXCLUSION' end as IECAT,
    IEORRES,
    IEORRES as IESTRESC,
    'SCREENING' as EPOCH
from criteria
inner join sequence using (SITEID, RECID)
{{ record_order() }}
