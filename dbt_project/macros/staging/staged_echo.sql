{#- The rows of echo.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__echo is this for each site's latest transfer. -#}
{% macro staged_echo(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('echo', transfers, subjects) }}
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
{%- endmacro %}
