{#- The rows of ex.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__ex is this for each site's latest transfer. -#}
{% macro staged_ex(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('ex', transfers, subjects) }}
    ),

    parsed as (
        select
            *,
            {{ parse_datetime('EXSTDTC') }} as EXSTDTM_PARSED,
            coalesce({{ parse_datetime('EXSTDTC') }}::date, {{ parse_date('EXSTDTC') }}) as EXSTDT_PARSED,
            {{ parse_number('EXDOSE') }} as EXDOSE_PARSED
        from source_rows
    ),

    checked as (
        {{ checked_rows('parsed', record_checks() + [
            check_required('EXSTDTC'), check_parses('EXSTDTC', 'EXSTDT_PARSED', 'not-a-datetime'),
            issue('EXSTDTC', 'infusion-without-time', 'EXSTDT_PARSED is not null and EXSTDTM_PARSED is null', 'WARNING'),
            check_date_bounds('EXSTDTC', 'EXSTDT_PARSED'),
            check_parses('EXDOSE', 'EXDOSE_PARSED', 'not-a-number'),
            check_code('EXROUTE', 'EXROUTE'), check_code('EXLOC', 'EXLOC'),
        ]) }}
    )

    select
        {{ staged_record(['RECID', 'SUBJID', 'EXSTDTC']) }},
        {{ clean_text('EXSTDTC') }} as EXSTDTC,
        {{ analysable('EXSTDTM_PARSED', 'EXSTDTC') }} as EXSTDTM,
        {{ analysable('EXSTDT_PARSED', 'EXSTDTC') }} as EXSTDT,
        {{ analysable('EXDOSE_PARSED', 'EXDOSE') }} as EXDOSE,
        {{ analysable(clean_code('EXROUTE'), 'EXROUTE') }} as EXROUTE,
        {{ analysable(clean_code('EXLOC'), 'EXLOC') }} as EXLOC,
        {{ clean_text('EXLOT') }} as EXLOT,
        ISSUES
    from checked
{%- endmacro %}
