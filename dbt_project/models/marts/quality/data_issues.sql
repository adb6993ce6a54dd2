-- One row per data issue (DTS section 7). ISSUE_ID is the same for the same site, file, record,
-- field and rule in every transfer.
-- Lifecycle across transfers (FIRST_EXTRACT, LAST_EXTRACT, STATUS) is computed over the latest
-- transfer of each site for now: every issue listed is OPEN in it.
select
    -- ISSUE_ID: md5 of SITEID, SRCDOM, SRCRECID, FIELD and RULE
    md5(concat_ws('|', SITEID, SRCDOM, coalesce(SRCRECID, ''), FIELD, RULE)) as ISSUE_ID,
    SITEID,
    USUBJID,
    SRCDOM,
    SRCRECID,
    FIELD,
    VALUE,
    RULE,
    SEVERITY,
    EXTRACT_ID as FIRST_EXTRACT,
    EXTRACT_ID as LAST_EXTRACT,
    'OPEN' as STATUS
from {{ ref('int_data_issues') }}
-- one record can break the same rule on the same field only once
qualify row_number() over (partition by ISSUE_ID order by SOURCE_LINE) = 1
