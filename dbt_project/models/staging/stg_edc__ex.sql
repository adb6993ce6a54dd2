-- One row per infusion (ex.csv), typed. EXSTDTM is NULL when EXSTDTC has no time.
select
    {{ record_keys() }},
    {{ parse_datetime('EXSTDTC') }} as EXSTDTM,
    {{ parse_date_part('EXSTDTC') }} as EXSTDT,
    {{ parse_number('EXDOSE') }} as EXDOSE,
    {{ clean_code('EXROUTE') }} as EXROUTE,
    {{ clean_code('EXLOC') }} as EXLOC,
    {{ clean_text('EXLOT') }} as EXLOT
from ({{ latest_loaded_transfer('ex') }})
