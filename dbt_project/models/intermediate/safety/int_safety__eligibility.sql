-- Eligibility per subject (DTS section 5): one row per subject of stg_edc__dm.
-- The criteria and the answer each must have come from the IETESTCD code list (DECODE INCLUSION:
-- the criterion must be met, answer 'Y'; EXCLUSION: it must not apply, answer 'N').
{{ incremental_by_site('USUBJID') }}
with

subjects as (
    select distinct USUBJID
    from {{ ref('stg_edc__dm') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

-- EXPECTED: the answer that keeps a subject eligible, from the criterion's category in the code list
criteria as (
    select
        CODE as IETESTCD,
        case DECODE when 'INCLUSION' then 'Y' when 'EXCLUSION' then 'N' end as EXPECTED
    from {{ ref('code_lists') }}
    where LIST_NAME = 'IETESTCD'
),

answers as (
    select USUBJID, IETESTCD, IEORRES
    from {{ ref('stg_edc__ie') }}
    where not ROW_EXCLUDED and {{ in_rebuilt_sites() }}
),

-- each subject x criterion: its records, how many carry a usable answer, whether all are as expected
subject_criteria as (
    select
        subjects.USUBJID,
        criteria.IETESTCD,
        count(answers.IETESTCD) as N_RECORDS,
        count(answers.IEORRES) as N_USABLE,
        coalesce(bool_and(answers.IEORRES = criteria.EXPECTED), false) as ALL_AS_EXPECTED
    from subjects
    cross join criteria
    left join answers
        on answers.USUBJID = subjects.USUBJID
        and answers.IETESTCD = criteria.IETESTCD
    group by subjects.USUBJID, criteria.IETESTCD
),

-- CRITSTAT: MET (answered, usable, as expected), NOT MET (a usable answer against), MISSING (no usable
-- answer, or a record whose answer is unusable)
criterion_status as (
    select
        USUBJID,
        IETESTCD,
        case
            when N_RECORDS = 0 or N_USABLE < N_RECORDS then 'MISSING'
            when ALL_AS_EXPECTED then 'MET'
            else 'NOT MET'
        end as CRITSTAT
    from subject_criteria
)

select
    USUBJID,
    count(*)::integer as N_CRIT,
    count(*) filter (where CRITSTAT = 'MET')::integer as N_CRIT_MET,
    count(*) filter (where CRITSTAT = 'NOT MET')::integer as N_CRIT_NOT_MET,
    count(*) filter (where CRITSTAT = 'MISSING')::integer as N_CRIT_MISSING,
    -- ELIGFL: every criterion of the code list met
    case when count(*) > 0 and bool_and(CRITSTAT = 'MET') then 'Y' end as ELIGFL
from criterion_status
group by USUBJID
