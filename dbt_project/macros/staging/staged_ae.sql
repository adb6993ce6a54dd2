{#- The rows of ae.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__ae is this for each site's latest transfer. -#}
{% macro staged_ae(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('ae', transfers, subjects) }}
    ),

    parsed as (
        select
            *,
            {{ partial_date_bounds('AESTDTC') }},
            {{ partial_date_bounds('AEENDTC') }},
            coalesce({{ parse_datetime('AEENDTC') }}::date, {{ parse_date('AEENDTC') }}) as AENDT_PARSED
        from source_rows
    ),

    checked as (
        {{ checked_rows('parsed', record_checks() + [
            check_required('AETERM', 'WARNING'),
            check_required('AESTDTC', 'WARNING'),
            check_parses('AESTDTC', 'AESTDTC_EARLIEST', 'not-a-date', 'WARNING'),
            check_date_bounds('AESTDTC', 'AESTDTC_EARLIEST', 'AESTDTC_LATEST', 'WARNING'),
            check_parses('AEENDTC', 'AEENDTC_EARLIEST', 'not-a-date'),
            check_date_bounds('AEENDTC', 'AEENDTC_EARLIEST', 'AEENDTC_LATEST'),
            check_code('AESEV', 'AESEV'), check_code('AESER', 'NY'),
            check_code('AEREL', 'AEREL'), check_code('AEOUT', 'AEOUT'),
        ]) }}
    ),

    flagged as (
        select
            *,
            list_contains(list_transform(ISSUES, lambda i: i.FIELD), 'AESTDTC') as ONSET_UNUSABLE
        from checked
    )

    select
        -- an AE is never dropped for a missing RECID: only a missing or unknown subject excludes it
        {{ staged_record(['SUBJID']) }},
        {{ clean_text('AESPID') }} as AESPID,
        {{ clean_text('AETERM') }} as AETERM,
        {{ clean_text('AEDECOD') }} as AEDECOD,
        {{ clean_text('AEBODSYS') }} as AEBODSYS,
        case when not ONSET_UNUSABLE then {{ clean_text('AESTDTC') }} end as AESTDTC,
        {{ analysable(clean_text('AEENDTC'), 'AEENDTC') }} as AEENDTC,
        {{ analysable('AENDT_PARSED', 'AEENDTC') }} as AENDT,
        {{ analysable(clean_code('AESEV'), 'AESEV') }} as AESEV,
        {{ analysable(clean_code('AESER'), 'AESER') }} as AESER,
        {{ analysable(clean_code('AEREL'), 'AEREL') }} as AEREL,
        {{ analysable(clean_code('AEOUT'), 'AEOUT') }} as AEOUT,
        ISSUES
    from flagged
{%- endmacro %}
