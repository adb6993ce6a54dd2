-- One row per lab result (lb.csv). LBORRES stays text (it may be <x or >x); LBSTRESN is its number when it is a plain one.
select
    {{ record_keys() }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ parse_datetime('LBDTC') }} as LBDTM,
    {{ parse_date_part('LBDTC') }} as LBDT,
    {{ clean_code('LBTESTCD') }} as LBTESTCD,
    {{ clean_text('LBORRES') }} as LBORRES,
    {{ parse_number('LBORRES') }} as LBSTRESN,
    {{ clean_text('LBORRESU') }} as LBORRESU,
    {{ parse_number('LBORNRLO') }} as LBORNRLO,
    {{ parse_number('LBORNRHI') }} as LBORNRHI
from ({{ latest_loaded_transfer('lb') }})
