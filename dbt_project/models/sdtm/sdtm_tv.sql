-- SDTM TV: the planned visits (seed trial_visits; the Month visits' planned days are the target
-- days of visit_windows, the baseline's limits its window). UNSCHEDULED is not planned: not in TV.
-- Trial design: built whole in every build.
{{ config(materialized='table') }}

with

visits as (
    select
        visits.VISITNUM,
        visits.VISIT,
        -- VISITDY: the DAY visit's own day, else the target day of its analysis window
        coalesce(visits.VISITDY, windows.TARGET_DAY) as VISITDY,
        visits.TVSTRL,
        visits.TVENRL,
        windows.LOW_DAY,
        windows.HIGH_DAY
    from {{ ref('trial_visits') }} as visits
    left join {{ ref('visit_windows') }} as windows using (AVISIT)
)

select
    'NCT04325594' as STUDYID,
    'TV' as DOMAIN,
    VISITNUM,
    VISIT,
    cast(VISITDY as bigint) as VISITDY,
    -- ARMCD: the visits are the same in every arm (SDTMIG: NULL then)
    cast(null as varchar) as ARMCD,
    -- TVSTRL: the seed's rule, else the planned study day (study day 1 is the infusion day), else
    -- the start of the visit's window (the baseline)
    coalesce(
        TVSTRL,
        'Study day ' || VISITDY || ' (study day 1 is the infusion day)',
        'Study day ' || LOW_DAY || ' at the earliest'
    ) as TVSTRL,
    -- TVENRL: the seed's rule, else for a visit with a window but no planned day (the baseline)
    -- the window's last day, before the infusion
    coalesce(
        TVENRL,
        case when VISITDY is null then 'Study day ' || HIGH_DAY || ', before the infusion' end
    ) as TVENRL
from visits
order by VISITNUM
