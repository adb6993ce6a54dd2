-- Each site's latest loaded transfer: the one staging reads (transfers are cumulative).
select
    SITEID,
    EXTRACT_ID,
    -- EXTRACT_DATE: the date part of EXTRACT_ID; no delivered date may be after it
    strptime(left(EXTRACT_ID, 8), '%Y%m%d')::date as EXTRACT_DATE,
    DECIMAL_SEPARATOR,
    ENCODING,
    DELIMITER,
    LOADED_AT
from {{ source('raw', 'transfer_log') }}
where STATUS = 'LOADED'
qualify row_number() over (partition by SITEID order by EXTRACT_ID desc) = 1
