-- One row per transfer seen, loaded or rejected (contract: marts.extract_log).
select
    SITEID,
    EXTRACT_ID,
    STATUS,
    REASON,
    FILES,
    ROWS,
    LOADED_AT
from {{ source('raw', 'transfer_log') }}
order by SITEID, EXTRACT_ID
