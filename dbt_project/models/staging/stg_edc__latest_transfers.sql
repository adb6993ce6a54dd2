-- Each site's latest loaded transfer: the one staging reads (transfers are cumulative).
select SITEID, EXTRACT_ID, DECIMAL_SEPARATOR, ENCODING, DELIMITER, LOADED_AT
from {{ source('raw', 'transfer_log') }}
where STATUS = 'LOADED'
qualify row_number() over (partition by SITEID order by EXTRACT_ID desc) = 1
