-- One row per subject x eligibility criterion (ie.csv) of each site's latest transfer, checked.
with

source_rows as (
    {{ latest_rows_with_subject('ie') }}
),

checked as (
    {{ checked_rows('source_rows', record_checks() + [
        check_required('IETESTCD'), check_code('IETESTCD', 'IETESTCD'),
        check_required('IEORRES'), check_code('IEORRES', 'NY'),
    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'IETESTCD']) }},
    {{ analysable(clean_code('IETESTCD'), 'IETESTCD') }} as IETESTCD,
    {{ analysable(clean_code('IEORRES'), 'IEORRES') }} as IEORRES,
    ISSUES
from checked
