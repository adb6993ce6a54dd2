-- One row per visit (sv.csv) of each site's latest transfer, checked.
with

source_rows as (
    {{ latest_rows_with_subject('sv') }}
),

parsed as (
    select *, {{ parse_date('SVSTDTC') }} as SVSTDT_PARSED from source_rows
),

checked as (
    {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('SVSTDTC', 'SVSTDT_PARSED') + [

    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'SVSTDTC']) }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ analysable('SVSTDT_PARSED', 'SVSTDTC') }} as SVSTDT,
    ISSUES
from checked
