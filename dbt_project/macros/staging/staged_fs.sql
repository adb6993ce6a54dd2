{#- The rows of fs.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__fs is this for each site's latest transfer. -#}
{% macro staged_fs(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('fs', transfers, subjects) }}
    ),

    parsed as (
        select
            source_rows.*,
            {{ parse_date('FSDTC') }} as FSDT_PARSED,
            nyha_code.DECODE::integer as NYHA_PARSED,
            {{ parse_number('SMWD') }} as SMWD_PARSED
        from source_rows
        left join {{ ref('code_lists') }} as nyha_code
            on nyha_code.LIST_NAME = 'NYHA' and nyha_code.CODE = upper(trim(source_rows.NYHA))
    ),

    checked as (
        {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('FSDTC', 'FSDT_PARSED') + [
            check_code('NYHA', 'NYHA'),
            check_parses('SMWD', 'SMWD_PARSED', 'not-a-number'), check_catalog_range('SMWD', 'SMWD_PARSED', 'fs'),
        ]) }}
    )

    select
        {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'FSDTC']) }},
        {{ clean_code('VISIT') }} as VISIT,
        {{ analysable('FSDT_PARSED', 'FSDTC') }} as FSDT,
        {{ analysable('NYHA_PARSED', 'NYHA') }} as NYHA,
        {{ analysable('SMWD_PARSED', 'SMWD') }} as SMWD,
        ISSUES
    from checked
{%- endmacro %}
