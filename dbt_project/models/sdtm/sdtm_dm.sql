-- SDTM DM: one row per subject of each site's latest good transfer (the subjects of marts.adsl).
-- Each variable's rule: its description in _sdtm__models.yml (define.xml's method or comment).
{{ incremental_by_site() }}
with

subjects as (
    select * from {{ ref('int_adsl') }}
    where {{ in_rebuilt_sites() }}
),

infusion as (
    select USUBJID, EXSTDTC
    from {{ ref('stg_edc__ex') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
    qualify row_number() over (partition by USUBJID order by EXSTDT, RECID) = 1
),

-- last date of participation: the latest of the consent, the infusion, the visits and the disposition events
participation as (
    select USUBJID, max(DTC) as RFPENDTC
    from (
        select USUBJID, strftime(SVSTDT, '%Y-%m-%d') as DTC from {{ ref('stg_edc__sv') }} where {{ in_rebuilt_sites() }}
        union all
        select USUBJID, strftime(DSSTDT, '%Y-%m-%d') from {{ ref('stg_edc__ds') }} where {{ in_rebuilt_sites() }}
        union all
        select USUBJID, strftime(EXSTDT, '%Y-%m-%d') from {{ ref('stg_edc__ex') }} where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
        union all
        select USUBJID, strftime(CONSDT, '%Y-%m-%d') from subjects
    )
    where DTC is not null
    group by USUBJID
)

select
    subjects.STUDYID,
    'DM' as DOMAIN,
    subjects.USUBJID,
    subjects.SUBJID,
    infusion.EXSTDTC as RFSTDTC,
    infusion.EXSTDTC as RFENDTC,
    infusion.EXSTDTC as RFXSTDTC,
    infusion.EXSTDTC as RFXENDTC,
    strftime(subjects.CONSDT, '%Y-%m-%d') as RFICDTC,
    participation.RFPENDTC,
    strftime(subjects.DTHDT, '%Y-%m-%d') as DTHDTC,
    subjects.DTHFL,
    subjects.SITEID,
    lpad(cast(stg_dm.BRTHYR as varchar), 4, '0') as BRTHDTC,
    subjects.AGE,
    subjects.AGEU,
    subjects.SEX,
    case when infusion.USUBJID is not null then 'UCMSC' end as ARMCD,
    case when infusion.USUBJID is not null then 'Intracoronary umbilical cord MSC' end as ARM,
    case when infusion.USUBJID is not null then 'UCMSC' end as ACTARMCD,
    case when infusion.USUBJID is not null then 'Intracoronary umbilical cord MSC' end as ACTARM,
    case
        when infusion.USUBJID is not null then null
        when subjects.ELIGFL = 'Y' then 'ASSIGNED, NOT TREATED'
        else 'SCREEN FAILURE'
    end as ARMNRS,
    'KAZ' as COUNTRY
from subjects
left join infusion using (USUBJID)
left join participation using (USUBJID)
left join {{ ref('stg_edc__dm') }} as stg_dm
    on stg_dm.USUBJID = subjects.USUBJID and not stg_dm.ROW_EXCLUDED
{{ record_order() }}
