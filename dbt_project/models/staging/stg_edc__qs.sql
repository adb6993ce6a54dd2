-- One row per questionnaire item (qs.csv), typed.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_date('QSDTC') }} as QSDT,
    {{ clean_code('QSCAT') }} as QSCAT,
    {{ clean_code('QSTESTCD') }} as QSTESTCD,
    {{ parse_number('QSORRES') }} as QSSTRESN
from ({{ latest_loaded_transfer('qs') }})
