-- One row per loaded transfer that is no longer its site's latest, with the data issues found in
-- it (ISSUES: one struct per issue, as int_data_issues has them). Incremental: a transfer is
-- checked once, when a later one replaces it as the site's latest (the latest itself is checked
-- by staging on every run); it is recorded even when it has no issue, so it is never checked again.
-- Its issues are those of the reference data of that run: a full refresh re-checks every transfer.
{{ config(materialized='incremental') }}
with

transfers_to_check as (
    select SITEID, EXTRACT_ID, DECIMAL_SEPARATOR, EXTRACT_DATE
    from ({{ loaded_transfers() }}) as loaded
    where not IS_LATEST
    {% if is_incremental() %}
        and not exists (
            select 1 from {{ this }} as checked
            where checked.SITEID = loaded.SITEID and checked.EXTRACT_ID = loaded.EXTRACT_ID
        )
    {% endif %}
),

subjects as (
    {{ staged_dm('transfers_to_check') }}
),

issues as (
    {{ issues_of('subjects', 'dm') }}
    {% for file in dts_files() if file != 'dm' %}
    union all
    {{ issues_of('(' ~ staged_file(file, 'transfers_to_check', 'subjects') ~ ')', file) }}
    {% endfor %}
),

issue_rows as (
    select
        SITEID,
        EXTRACT_ID,
        {
            'ISSUE_ID': {{ issue_id(field='ISSUE.FIELD', rule='ISSUE.RULE') }},
            'USUBJID': USUBJID,
            'SRCDOM': SRCDOM,
            'SRCRECID': SRCRECID,
            'SOURCE_LINE': SOURCE_LINE,
            'FIELD': ISSUE.FIELD,
            'VALUE': ISSUE.VALUE,
            'RULE': ISSUE.RULE,
            'SEVERITY': ISSUE.SEVERITY
        } as ISSUE
    from issues
)

select
    transfers_to_check.SITEID,
    transfers_to_check.EXTRACT_ID,
    coalesce(
        list(issue_rows.ISSUE order by issue_rows.ISSUE.SRCDOM, issue_rows.ISSUE.SOURCE_LINE, issue_rows.ISSUE.FIELD, issue_rows.ISSUE.RULE)
            filter (where issue_rows.ISSUE is not null),
        []
    ) as ISSUES
from transfers_to_check
left join issue_rows using (SITEID, EXTRACT_ID)
group by transfers_to_check.SITEID, transfers_to_check.EXTRACT_ID
