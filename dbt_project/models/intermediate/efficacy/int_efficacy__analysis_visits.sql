-- Analysis visits of the daily values (DTS section 4): AVISIT/AVISITN from the study day, the
-- baseline record (ABLFL) and the one record used for each analysis visit (ANL01FL).
{{ incremental_by_site() }}
with

daily_values as (
    select * from {{ ref('int_efficacy__daily_values') }}
    where {{ in_rebuilt_sites() }}
),

visit_windows as (
    select AVISIT, AVISITN, TARGET_DAY, LOW_DAY, HIGH_DAY
    from {{ ref('visit_windows') }}
),

-- AVISIT/AVISITN: the window holding ADY. The window without a target day (Baseline) takes
-- pre-infusion values only, the targeted windows post-infusion values only, whatever the nominal VISIT
with_visit as (
    select daily_values.*, visit_windows.AVISIT, visit_windows.AVISITN, visit_windows.TARGET_DAY
    from daily_values
    left join visit_windows
        on daily_values.ADY between visit_windows.LOW_DAY and visit_windows.HIGH_DAY
       and (
            (visit_windows.TARGET_DAY is null and daily_values.PREINFFL = 'Y')
            or (visit_windows.TARGET_DAY is not null and daily_values.PREINFFL is null)
       )
),

-- VISIT_RANK: order within the subject's parameter and analysis visit: Baseline the latest value
-- first; a targeted window the value closest to its target day first, the earlier one on a tie
ranked as (
    select
        *,
        row_number() over (
            partition by USUBJID, PARAMCD, AVISITN
            order by
                case when TARGET_DAY is null then -ADY else abs(ADY - TARGET_DAY) end,
                ADY,
                ADTM nulls first,
                SRCRECID nulls first
        ) as VISIT_RANK
    from with_visit
),

-- ABLFL: the latest baseline-eligible value
with_baseline_flag as (
    select *, case when AVISIT is not null and TARGET_DAY is null and VISIT_RANK = 1 then 'Y' end as ABLFL
    from ranked
),

-- ANL01FL: the one record used for its analysis visit (the baseline record for Baseline)
with_analysis_flag as (
    select *, case when AVISIT is not null and VISIT_RANK = 1 then 'Y' end as ANL01FL
    from with_baseline_flag
)

select
    STUDYID, SITEID, USUBJID, PARAMCD, PARAM, PARAMU, PARAMN, SRCDOM, SRCRECID, VISIT,
    ADT, ADTM, ADY, PREINFFL, AVISIT, AVISITN::integer as AVISITN, AVAL, NVAL, AVALC, BLQFL, ALQFL,
    ABLFL, ANL01FL
from with_analysis_flag
