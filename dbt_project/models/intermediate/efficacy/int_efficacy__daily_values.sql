-- One analysed value per subject x parameter x date: the mean of that date's values; on the
-- infusion date the post-infusion values are averaged apart from the pre-infusion ones (PREINFFL).
-- Floating-point sums and means are ordered (`avg(x order by ...)`): a rebuild gives the same bits.
{{ incremental_by_site() }}
with

observations as (
    select * from {{ ref('int_efficacy__observations') }}
    where {{ in_rebuilt_sites() }}
),

-- Values of the same subject, parameter, date and side of the infusion; the first one (earliest
-- time, a date-only value first, then lowest SOURCE_LINE) gives the source record and nominal visit
daily_values as (
    select
        STUDYID, SITEID, USUBJID, PARAMCD, PARAM, PARAMU, PARAMN, SRCDOM, ADT, ADY, PREINFFL,
        -- AVAL: mean of the date's values
        avg(AVAL order by ADTM asc nulls first, SOURCE_LINE, SRCRECID) as AVAL,
        -- NVAL: how many source values are behind AVAL
        count(*)::integer as NVAL,
        -- AVALC: the delivered text of a single value; NULL for a mean of several
        case when count(*) = 1 then any_value(AVALC) end as AVALC,
        -- BLQFL/ALQFL: 'Y' when any value behind AVAL was beyond an assay limit
        max(BLQFL) as BLQFL,
        max(ALQFL) as ALQFL,
        first(SRCRECID order by ADTM asc nulls first, SOURCE_LINE, SRCRECID) as SRCRECID,
        first(ADTM order by ADTM asc nulls first, SOURCE_LINE, SRCRECID) as ADTM,
        first(VISIT order by ADTM asc nulls first, SOURCE_LINE, SRCRECID) as VISIT
    from observations
    group by STUDYID, SITEID, USUBJID, PARAMCD, PARAM, PARAMU, PARAMN, SRCDOM, ADT, ADY, PREINFFL
)

select * from daily_values
