{#- The rows of ds.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__ds is this for each site's latest transfer. -#}
{% macro staged_ds(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('ds', transfers, subjects) }}
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
{%- endmacro %}
