{#- The rows of ie.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__ie is this for each site's latest transfer. -#}
{% macro staged_ie(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('ie', transfers, subjects) }}
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
{%- endmacro %}
