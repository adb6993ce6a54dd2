-- One row per cardiac CT (ct.csv), typed under the transfer's decimal separator.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_date('CTDTC') }} as CTDT,
    {{ parse_number('LVEF') }} as LVEF,
    {{ parse_number('LVEDV') }} as LVEDV,
    {{ parse_number('LVESV') }} as LVESV,
    {{ parse_number('IVS') }} as IVS,
    {{ parse_number('LVPW') }} as LVPW
from ({{ latest_loaded_transfer('ct') }})
