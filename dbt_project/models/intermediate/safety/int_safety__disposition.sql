-- End of study per subject (contract marts.adsl): one row per subject of stg_edc__dm.
{{ incremental_by_site('USUBJID') }}
with

subjects as (
    select distinct USUBJID
    from {{ ref('stg_edc__dm') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

disposition as (
    select USUBJID, RECID, DSDECOD, DSSTDT
    from {{ ref('stg_edc__ds') }}
    where not ROW_EXCLUDED and DSDECOD is not null and {{ in_rebuilt_sites() }}
),

-- COMPLFL source: the subject's earliest COMPLETED record
completion as (
    select USUBJID, DSDECOD, DSSTDT
    from disposition
    where DSDECOD = 'COMPLETED'
    qualify row_number() over (partition by USUBJID order by DSSTDT nulls last, RECID) = 1
),

-- discontinuation: the subject's earliest other disposition record (on a tie of dates, lowest RECID)
discontinuation as (
    select USUBJID, DSDECOD, DSSTDT
    from disposition
    where DSDECOD <> 'COMPLETED'
    qualify row_number() over (partition by USUBJID order by DSSTDT nulls last, RECID) = 1
)

select
    subjects.USUBJID,
    -- COMPLFL: a COMPLETED record exists
    case when completion.USUBJID is not null then 'Y' end as COMPLFL,
    -- EOSSTT: COMPLETED with a COMPLETED record, else DISCONTINUED with any other record, else ONGOING
    case
        when completion.USUBJID is not null then 'COMPLETED'
        when discontinuation.USUBJID is not null then 'DISCONTINUED'
        else 'ONGOING'
    end as EOSSTT,
    -- EOSDT: the date of the record behind EOSSTT (the earliest of its kind)
    case
        when completion.USUBJID is not null then completion.DSSTDT
        else discontinuation.DSSTDT
    end as EOSDT,
    -- DCSREAS: the discontinuing record's DSDECOD, only when DISCONTINUED
    case when completion.USUBJID is null then discontinuation.DSDECOD end as DCSREAS
from subjects
left join completion using (USUBJID)
left join discontinuation using (USUBJID)
