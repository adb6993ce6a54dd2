-- One row per adverse event (ae.csv). AESTDTC stays text: it may be partial (YYYY-MM, YYYY).
select
    {{ record_keys() }},
    {{ clean_text('AESPID') }} as AESPID,
    {{ clean_text('AETERM') }} as AETERM,
    {{ clean_text('AEDECOD') }} as AEDECOD,
    {{ clean_text('AEBODSYS') }} as AEBODSYS,
    {{ clean_text('AESTDTC') }} as AESTDTC,
    {{ clean_text('AEENDTC') }} as AEENDTC,
    {{ clean_code('AESEV') }} as AESEV,
    {{ clean_code('AESER') }} as AESER,
    {{ clean_code('AEREL') }} as AEREL,
    {{ clean_code('AEOUT') }} as AEOUT
from ({{ latest_loaded_transfer('ae') }})
