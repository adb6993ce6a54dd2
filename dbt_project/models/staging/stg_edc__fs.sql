-- One row per functional assessment (fs.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_date('FSDTC') }} as FSDT,
    {{ clean_code('NYHA') }} as NYHA,
    {{ parse_number('SMWD') }} as SMWD
from ({{ latest_loaded_transfer('fs') }})
