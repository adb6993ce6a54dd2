-- Each site's latest loaded transfer: the one staging reads (transfers are cumulative).
select * exclude (IS_LATEST)
from ({{ loaded_transfers() }})
where IS_LATEST
