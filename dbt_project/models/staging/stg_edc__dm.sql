-- One row per subject (dm.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('SEX') }} as SEX,
    {{ parse_number('BRTHYR') }}::integer as BRTHYR,
    {{ parse_date('CONSDT') }} as CONSDT,
    {{ clean_code('ICDIND') }} as ICDIND,
    {{ clean_code('ICDIMP') }} as ICDIMP,
    {{ clean_code('ETIOLCONF') }} as ETIOLCONF
from ({{ latest_loaded_transfer('dm') }})
