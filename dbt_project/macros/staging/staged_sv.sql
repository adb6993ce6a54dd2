{#- The rows of sv.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__sv is this for each site's latest transfer. -#}
{% macro staged_sv(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('sv', transfers, subjects) }}
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
{%- endmacro %}
