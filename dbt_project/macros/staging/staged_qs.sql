{#- The rows of qs.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__qs is this for each site's latest transfer. -#}
{% macro staged_qs(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('qs', transfers, subjects) }}
    ),

    parsed as (
        select
            source_rows.*,
            {{ parse_date('QSDTC') }} as QSDT_PARSED,
            {{ parse_number('QSORRES') }} as QSORRES_PARSED,
            items.LOW as ITEM_LOW,
            items.HIGH as ITEM_HIGH,
            items.QSTESTCD is not null as ITEM_KNOWN,
            items.QSCAT = 'SF12' as SCORE_GIVEN
        from source_rows
        left join {{ ref('questionnaire_items') }} as items
            on items.QSCAT = upper(trim(source_rows.QSCAT)) and items.QSTESTCD = upper(trim(source_rows.QSTESTCD))
    ),

    checked as (
        {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('QSDTC', 'QSDT_PARSED') + [
            check_required('QSCAT'), check_code('QSCAT', 'QSCAT'),
            check_required('QSTESTCD'),
            issue('QSTESTCD', 'code-list', 'not ' ~ is_blank('QSTESTCD') ~ ' and not ITEM_KNOWN'),
            check_parses('QSORRES', 'QSORRES_PARSED', 'not-a-number'),
            issue('QSORRES', 'out-of-range',
            'QSORRES_PARSED < ITEM_LOW or QSORRES_PARSED > ITEM_HIGH or (not SCORE_GIVEN and QSORRES_PARSED <> round(QSORRES_PARSED))'),
        ]) }}
    )

    select
        {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'QSDTC', 'QSCAT', 'QSTESTCD']) }},
        {{ clean_code('VISIT') }} as VISIT,
        {{ analysable('QSDT_PARSED', 'QSDTC') }} as QSDT,
        {{ analysable(clean_code('QSCAT'), 'QSCAT') }} as QSCAT,
        {{ analysable(clean_code('QSTESTCD'), 'QSTESTCD') }} as QSTESTCD,
        {{ analysable('QSORRES_PARSED', 'QSORRES') }} as QSSTRESN,
        ISSUES
    from checked
{%- endmacro %}
