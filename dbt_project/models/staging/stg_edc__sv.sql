-- One row per visit (sv.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_date('SVSTDTC') }} as SVSTDT
from ({{ latest_loaded_transfer('sv') }})
