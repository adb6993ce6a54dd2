-- Analysis variables of each adverse event of an infused subject (DTS sections 4 and 8):
-- onset imputation, study day, treatment-emergence, primary window, relatedness.
{{ incremental_by_site('USUBJID') }}
with

adverse_events as (
    select
        USUBJID,
        RECID as SRCRECID,
        AESPID,
        AETERM,
        AEDECOD,
        AEBODSYS,
        AESTDTC,
        AEENDTC,
        AENDT,
        AESER,
        AESEV,
        AEREL,
        AEOUT
    from {{ ref('stg_edc__ae') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

-- only infused subjects have AE analysis variables (treatment start is their reference)
with_treatment as (
    select adverse_events.*, trt.TRTSDTM, trt.TRTSDT
    from adverse_events
    inner join {{ ref('int_treatment_start') }} as trt using (USUBJID)
),

-- ONSETPRC: how much of AESTDTC is known: TIME, DAY, MONTH, YEAR; NULL when missing or not ISO 8601
onset_precision as (
    select
        *,
        case
            when regexp_full_match(AESTDTC, '\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?') then 'TIME'
            when regexp_full_match(AESTDTC, '\d{4}-\d{2}-\d{2}') then 'DAY'
            when regexp_full_match(AESTDTC, '\d{4}-\d{2}') then 'MONTH'
            when regexp_full_match(AESTDTC, '\d{4}') then 'YEAR'
        end as ONSETPRC
    from with_treatment
),

-- ONSETLO / ONSETHI: first and last day of the period AESTDTC names (one day for a full date)
onset_period as (
    select
        *,
        case ONSETPRC
            when 'TIME' then {{ parse_date_part('AESTDTC') }}
            when 'DAY' then {{ parse_date('AESTDTC') }}
            when 'MONTH' then try_strptime(AESTDTC || '-01', '%Y-%m-%d')::date
            when 'YEAR' then try_strptime(AESTDTC || '-01-01', '%Y-%m-%d')::date
        end as ONSETLO
    from onset_precision
),

onset_period_end as (
    select
        *,
        case ONSETPRC
            when 'MONTH' then last_day(ONSETLO)
            when 'YEAR' then (ONSETLO + interval 1 year - interval 1 day)::date
            else ONSETLO
        end as ONSETHI
    from onset_period
),

-- ASTDTM: onset datetime, only when AESTDTC carries a time
astdtm as (
    select *, case when ONSETPRC = 'TIME' then {{ parse_datetime('AESTDTC') }} end as ASTDTM
    from onset_period_end
),

-- ASTDT: a full date as is; a partial one is TRTSDT when its period contains TRTSDT, else its first day
astdt as (
    select
        *,
        case
            when ONSETPRC in ('MONTH', 'YEAR') and TRTSDT between ONSETLO and ONSETHI then TRTSDT
            else ONSETLO
        end as ASTDT
    from astdtm
),

-- ASTDTF: imputation level, D (day imputed, from YYYY-MM) or M (month and day, from YYYY)
astdtf as (
    select
        *,
        case
            when ASTDT is not null and ONSETPRC = 'MONTH' then 'D'
            when ASTDT is not null and ONSETPRC = 'YEAR' then 'M'
        end as ASTDTF
    from astdt
),

-- ASTDY: study day of ASTDT, no day 0
astdy as (
    select
        *,
        (case when ASTDT >= TRTSDT then ASTDT - TRTSDT + 1 else ASTDT - TRTSDT end)::integer as ASTDY
    from astdtf
),

-- TRTEMFL: onset on or after treatment start; times compared only when both onset and infusion have
-- one, else dates (same date counts); an unknown onset counts (conservative)
trtemfl as (
    select
        *,
        case
            when ASTDT is null then 'Y'
            when ASTDTM is not null and TRTSDTM is not null and ASTDTM >= TRTSDTM then 'Y'
            when (ASTDTM is null or TRTSDTM is null) and ASTDT >= TRTSDT then 'Y'
        end as TRTEMFL
    from astdy
),

-- PRIMWFL: treatment-emergent with onset on study day 1..5
primwfl as (
    select *, case when TRTEMFL = 'Y' and ASTDY between 1 and 5 then 'Y' end as PRIMWFL
    from trtemfl
),

-- AREL: the AEREL code list's RELATED / NOT RELATED grouping; a missing or unusable AEREL counts as
-- RELATED (conservative)
arel as (
    select
        primwfl.*,
        coalesce(relatedness.DECODE, 'RELATED') as AREL
    from primwfl
    left join {{ ref('code_lists') }} as relatedness
        on relatedness.LIST_NAME = 'AEREL'
        and relatedness.CODE = primwfl.AEREL
)

select
    USUBJID,
    SRCRECID,
    AESPID,
    AETERM,
    AEDECOD,
    AEBODSYS,
    AESTDTC,
    AEENDTC,
    TRTSDTM,
    TRTSDT,
    ASTDTM,
    ASTDT,
    ASTDTF,
    AENDT,
    ASTDY,
    TRTEMFL,
    PRIMWFL,
    AESER,
    AESEV,
    AEREL,
    AREL,
    AEOUT
from arel
