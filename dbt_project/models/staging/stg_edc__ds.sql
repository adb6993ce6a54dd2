-- One row per disposition event (ds.csv) of each site's latest transfer, checked.
with

source_rows as (
    {{ latest_rows_with_subject('ds') }}
),

parsed as (
    select *, {{ parse_date('DSSTDTC') }} as DSSTDT_PARSED from source_rows
),

checked as (
    {{ checked_rows('parsed', record_checks() + [
        check_required('DSDECOD'), check_code('DSDECOD', 'DSDECOD'),
        check_required('DSSTDTC'), check_parses('DSSTDTC', 'DSSTDT_PARSED', 'not-a-date'),
        check_date_bounds('DSSTDTC', 'DSSTDT_PARSED'),
    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'DSDECOD']) }},
    {{ analysable(clean_code('DSDECOD'), 'DSDECOD') }} as DSDECOD,
    {{ analysable('DSSTDT_PARSED', 'DSSTDTC') }} as DSSTDT,
    ISSUES
from checked
