-- One row per echocardiogram (echo.csv) of each site's latest transfer: typed under the transfer's
-- decimal separator, rules checked. Values an ERROR issue excludes are NULL here.
with

source_rows as (
    {{ latest_rows_with_subject('echo') }}
),

parsed as (
    select
        *,
        {{ parse_date('ECHODTC') }} as ECHODT_PARSED,
        {{ parse_number('LVEF') }} as LVEF_PARSED,
        {{ parse_number('LVEDV') }} as LVEDV_PARSED,
        {{ parse_number('LVESV') }} as LVESV_PARSED,
        {{ parse_number('LVEDD') }} as LVEDD_PARSED,
        {{ parse_number('LVESD') }} as LVESD_PARSED
    from source_rows
),

checked as (
    {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('ECHODTC', 'ECHODT_PARSED') + [
        check_parses('LVEF', 'LVEF_PARSED', 'not-a-number'), check_catalog_range('LVEF', 'LVEF_PARSED', 'echo'),
        check_parses('LVEDV', 'LVEDV_PARSED', 'not-a-number'), check_catalog_range('LVEDV', 'LVEDV_PARSED', 'echo'),
        check_parses('LVESV', 'LVESV_PARSED', 'not-a-number'), check_catalog_range('LVESV', 'LVESV_PARSED', 'echo'),
        issue('LVESV', 'not-below-LVEDV', 'LVESV_PARSED >= LVEDV_PARSED'),
        check_parses('LVEDD', 'LVEDD_PARSED', 'not-a-number'), check_catalog_range('LVEDD', 'LVEDD_PARSED', 'echo'),
        check_parses('LVESD', 'LVESD_PARSED', 'not-a-number'), check_catalog_range('LVESD', 'LVESD_PARSED', 'echo'),
        issue('LVESD', 'not-below-LVEDD', 'LVESD_PARSED >= LVEDD_PARSED'),
    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'ECHODTC']) }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ analysable('ECHODT_PARSED', 'ECHODTC') }} as ECHODT,
    {{ analysable('LVEF_PARSED', 'LVEF') }} as LVEF,
    {{ analysable('LVEDV_PARSED', 'LVEDV') }} as LVEDV,
    {{ analysable('LVESV_PARSED', 'LVESV') }} as LVESV,
    {{ analysable('LVEDD_PARSED', 'LVEDD') }} as LVEDD,
    {{ analysable('LVESD_PARSED', 'LVESD') }} as LVESD,
    ISSUES
from checked
