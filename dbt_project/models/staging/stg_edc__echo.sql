-- One row per echocardiogram (echo.csv), typed under the transfer's decimal separator.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_date('ECHODTC') }} as ECHODT,
    {{ parse_number('LVEF') }} as LVEF,
    {{ parse_number('LVEDV') }} as LVEDV,
    {{ parse_number('LVESV') }} as LVESV,
    {{ parse_number('LVEDD') }} as LVEDD,
    {{ parse_number('LVESD') }} as LVESD
from ({{ latest_loaded_transfer('echo') }})
