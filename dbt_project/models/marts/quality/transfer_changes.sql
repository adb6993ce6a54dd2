-- What changed between each site's last two loaded transfers, for data managers: one row per
-- record added or deleted, one per field changed (with the old and the new value).
{{ incremental_by_site() }}
select
    SITEID,
    PREVIOUS_EXTRACT,
    EXTRACT_ID,
    SRCDOM,
    RECID,
    case when SUBJID is not null then {{ usubjid() }} end as USUBJID,
    CHANGE,
    FIELD,
    OLD_VALUE,
    NEW_VALUE,
    SOURCE_LINE
from {{ ref('int_transfer_changes') }}
where {{ in_rebuilt_sites() }}
