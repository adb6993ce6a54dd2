-- One row per data issue (DTS section 7) ever found in a loaded transfer, with its lifecycle.
-- ISSUE_ID is the same for the same site, file, record, field and rule in every transfer.
with

latest_transfer_issues as (
    select ISSUE_ID, SITEID, EXTRACT_ID, USUBJID, SRCDOM, SRCRECID, SOURCE_LINE, FIELD, VALUE, RULE, SEVERITY
    from {{ ref('int_data_issues') }}
),

earlier_transfer_issues as (
    select
        SITEID,
        EXTRACT_ID,
        ISSUE.ISSUE_ID,
        ISSUE.USUBJID,
        ISSUE.SRCDOM,
        ISSUE.SRCRECID,
        ISSUE.SOURCE_LINE,
        ISSUE.FIELD,
        ISSUE.VALUE,
        ISSUE.RULE,
        ISSUE.SEVERITY
    from (select SITEID, EXTRACT_ID, unnest(ISSUES) as ISSUE from {{ ref('int_data_issues__earlier_transfers') }})
),

-- one sighting per issue and transfer: a record breaks a rule on a field once (rows without a
-- RECID share one issue per file, field and rule; the first line stands for them)
sightings as (
    select *
    from (
        select * from latest_transfer_issues
        union all by name
        select * from earlier_transfer_issues
    )
    qualify row_number() over (partition by ISSUE_ID, EXTRACT_ID order by SOURCE_LINE) = 1
),

site_latest as (
    select SITEID, EXTRACT_ID as SITE_LATEST_EXTRACT
    from {{ ref('stg_edc__latest_transfers') }}
),

lifecycle as (
    select
        ISSUE_ID,
        -- FIRST_EXTRACT: the first loaded transfer that had the issue
        min(EXTRACT_ID) as FIRST_EXTRACT,
        -- LAST_EXTRACT: the last loaded transfer that had it
        max(EXTRACT_ID) as LAST_EXTRACT
    from sightings
    group by ISSUE_ID
),

-- the issue as its last sighting shows it (subject, value and severity may change)
last_sighting as (
    select *
    from sightings
    qualify row_number() over (partition by ISSUE_ID order by EXTRACT_ID desc) = 1
)

select
    last_sighting.ISSUE_ID,
    last_sighting.SITEID,
    last_sighting.USUBJID,
    last_sighting.SRCDOM,
    last_sighting.SRCRECID,
    last_sighting.FIELD,
    last_sighting.VALUE,
    last_sighting.RULE,
    last_sighting.SEVERITY,
    lifecycle.FIRST_EXTRACT,
    lifecycle.LAST_EXTRACT,
    -- STATUS: OPEN while the site's latest loaded transfer has the issue, CLOSED otherwise
    case when lifecycle.LAST_EXTRACT = site_latest.SITE_LATEST_EXTRACT then 'OPEN' else 'CLOSED' end as STATUS
from last_sighting
inner join lifecycle using (ISSUE_ID)
left join site_latest using (SITEID)
