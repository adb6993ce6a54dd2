-- One row per subject x eligibility criterion (ie.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('IETESTCD') }} as IETESTCD,
    {{ clean_code('IEORRES') }} as IEORRES
from ({{ latest_loaded_transfer('ie') }})
