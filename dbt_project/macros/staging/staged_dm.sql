{#- The rows of dm.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked: stg_edc__dm is this for each site's latest transfer. -#}
{% macro staged_dm(transfers) -%}
    with

    source_rows as (
        select
            *,
            row_number() over (partition by SITEID, EXTRACT_ID, trim(SUBJID) order by SOURCE_LINE) > 1 as REPEATED_SUBJID
        from ({{ transfer_rows('dm', transfers) }})
    ),

    parsed as (
        select
            *,
            case when regexp_full_match(trim(BRTHYR), '\d{4}') then trim(BRTHYR)::integer end as BRTHYR_PARSED,
            {{ parse_date('CONSDT') }} as CONSDT_PARSED
        from source_rows
    ),

    checked as (
        {{ checked_rows('parsed', [
            check_required('RECID'), check_required('SUBJID'),
            issue('SUBJID', 'duplicate-subject', 'REPEATED_SUBJID'),
            check_required('SEX'), check_code('SEX', 'SEX'),
            check_required('BRTHYR'), check_parses('BRTHYR', 'BRTHYR_PARSED', 'not-a-year'),
            check_required('CONSDT'), check_parses('CONSDT', 'CONSDT_PARSED', 'not-a-date'),
            issue('CONSDT', 'after-extract-date', 'CONSDT_PARSED > EXTRACT_DATE'),
            check_required('ICDIND'), check_code('ICDIND', 'NY'),
            check_required('ICDIMP'), check_code('ICDIMP', 'NY'),
            check_required('ETIOLCONF'), check_code('ETIOLCONF', 'ETIOLCONF'),
        ]) }}
    )

    select
        {{ staged_record(['RECID', 'SUBJID']) }},
        {{ analysable(clean_code('SEX'), 'SEX') }} as SEX,
        {{ analysable('BRTHYR_PARSED', 'BRTHYR') }} as BRTHYR,
        {{ analysable('CONSDT_PARSED', 'CONSDT') }} as CONSDT,
        {{ analysable(clean_code('ICDIND'), 'ICDIND') }} as ICDIND,
        {{ analysable(clean_code('ICDIMP'), 'ICDIMP') }} as ICDIMP,
        {{ analysable(clean_code('ETIOLCONF'), 'ETIOLCONF') }} as ETIOLCONF,
        ISSUES
    from checked
{%- endmacro %}
