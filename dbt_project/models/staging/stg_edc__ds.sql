-- One row per disposition event (ds.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('DSDECOD') }} as DSDECOD,
    {{ parse_date('DSSTDTC') }} as DSSTDT
from ({{ latest_loaded_transfer('ds') }})
