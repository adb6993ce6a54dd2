{#- The rows of ct.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__ct is this for each site's latest transfer. -#}
{% macro staged_ct(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('ct', transfers, subjects) }}
    ),

    parsed as (
        select
            *,
            {{ parse_date('CTDTC') }} as CTDT_PARSED,
            {{ parse_number('LVEF') }} as LVEF_PARSED,
            {{ parse_number('LVEDV') }} as LVEDV_PARSED,
            {{ parse_number('LVESV') }} as LVESV_PARSED,
            {{ parse_number('IVS') }} as IVS_PARSED,
            {{ parse_number('LVPW') }} as LVPW_PARSED
        from source_rows
    ),

    checked as (
        {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('CTDTC', 'CTDT_PARSED') + [
            check_parses('LVEF', 'LVEF_PARSED', 'not-a-number'), check_catalog_range('LVEF', 'LVEF_PARSED', 'ct'),
            check_parses('LVEDV', 'LVEDV_PARSED', 'not-a-number'), check_catalog_range('LVEDV', 'LVEDV_PARSED', 'ct'),
            check_parses('LVESV', 'LVESV_PARSED', 'not-a-number'), check_catalog_range('LVESV', 'LVESV_PARSED', 'ct'),
            issue('LVESV', 'not-below-LVEDV', 'LVESV_PARSED >= LVEDV_PARSED'),
            check_parses('IVS', 'IVS_PARSED', 'not-a-number'), check_catalog_range('IVS', 'IVS_PARSED', 'ct'),
            check_parses('LVPW', 'LVPW_PARSED', 'not-a-number'), check_catalog_range('LVPW', 'LVPW_PARSED', 'ct'),
        ]) }}
    )

    select
        {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'CTDTC']) }},
        {{ clean_code('VISIT') }} as VISIT,
        {{ analysable('CTDT_PARSED', 'CTDTC') }} as CTDT,
        {{ analysable('LVEF_PARSED', 'LVEF') }} as LVEF,
        {{ analysable('LVEDV_PARSED', 'LVEDV') }} as LVEDV,
        {{ analysable('LVESV_PARSED', 'LVESV') }} as LVESV,
        {{ analysable('IVS_PARSED', 'IVS') }} as IVS,
        {{ analysable('LVPW_PARSED', 'LVPW') }} as LVPW,
        ISSUES
    from checked
{%- endmacro %}
