-- Death per subject (DTS section 8): one row per subject of stg_edc__dm.
{{ incremental_by_site('USUBJID') }}
with

subjects as (
    select distinct USUBJID
    from {{ ref('stg_edc__dm') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

-- death recorded in disposition: the earliest DEATH record's date
death_record as (
    select USUBJID, min(DSSTDT) as DSDTHDT
    from {{ ref('stg_edc__ds') }}
    where not ROW_EXCLUDED and DSDECOD = 'DEATH' and {{ in_rebuilt_sites() }}
    group by USUBJID
),

-- death recorded as an AE outcome: the earliest known end date of a FATAL AE (AENDT is never imputed)
fatal_ae as (
    select USUBJID, min(AENDT) as AEDTHDT
    from {{ ref('stg_edc__ae') }}
    where not ROW_EXCLUDED and AEOUT = 'FATAL' and {{ in_rebuilt_sites() }}
    group by USUBJID
)

select
    subjects.USUBJID,
    -- DTHFL: a DEATH disposition record or any AE with outcome FATAL
    case when death_record.USUBJID is not null or fatal_ae.USUBJID is not null then 'Y' end as DTHFL,
    -- DTHDT: the DEATH record's DSSTDT, else the fatal AE's AENDT
    coalesce(death_record.DSDTHDT, fatal_ae.AEDTHDT) as DTHDT,
    -- DTHDTSRC: where DTHDT comes from (DS or AE)
    case
        when death_record.DSDTHDT is not null then 'DS'
        when fatal_ae.AEDTHDT is not null then 'AE'
    end as DTHDTSRC
from subjects
left join death_record using (USUBJID)
left join fatal_ae using (USUBJID)
