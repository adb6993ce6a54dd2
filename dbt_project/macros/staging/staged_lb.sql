{#- The rows of lb.csv of the transfers in `transfers` (SITEID, EXTRACT_ID, DECIMAL_SEPARATOR,
    EXTRACT_DATE), typed and checked against `subjects` (the same transfers' staged dm rows):
    stg_edc__lb is this for each site's latest transfer. -#}
{% macro staged_lb(transfers, subjects) -%}
    with

    source_rows as (
        {{ rows_with_subject('lb', transfers, subjects) }}
    ),

    parsed as (
        select
            source_rows.*,
            {{ parse_datetime('LBDTC') }} as LBDTM_PARSED,
            coalesce({{ parse_datetime('LBDTC') }}::date, {{ parse_date('LBDTC') }}) as LBDT_PARSED,
            nullif(regexp_extract(trim(LBORRES), '^([<>])', 1), '') as LIMIT_QUALIFIER,
            {{ parse_number("regexp_replace(trim(LBORRES), '^[<>]\\s*', '')") }} as RESULT_NUMBER,
            units.FACTOR as UNIT_FACTOR,
            units.LBSTRESU as STANDARD_UNIT,
            {{ parse_number('LBORNRLO') }} as LBORNRLO_PARSED,
            {{ parse_number('LBORNRHI') }} as LBORNRHI_PARSED
        from source_rows
        left join {{ ref('lab_units') }} as units
            on units.LBTESTCD = upper(trim(source_rows.LBTESTCD))
            and lower(units.LBORRESU) = lower(trim(source_rows.LBORRESU))
    ),

    analysed as (
        select
            *,
            -- LBSTRESN: <x analysed as x/2, >x as x, in the analysis unit
            case when LIMIT_QUALIFIER = '<' then RESULT_NUMBER / 2 else RESULT_NUMBER end * UNIT_FACTOR as LBSTRESN_PARSED
        from parsed
    ),

    checked as (
        {{ checked_rows('analysed', record_checks() + visit_checks() + date_checks('LBDTC', 'LBDT_PARSED', 'not-a-datetime') + [
            check_required('LBTESTCD'), check_code('LBTESTCD', 'LBTESTCD'),
            check_parses('LBORRES', 'RESULT_NUMBER', 'not-a-number'),
            issue('LBORRESU', 'unit-not-allowed',
                  'RESULT_NUMBER is not null and UNIT_FACTOR is null and upper(trim(LBTESTCD)) in (select LBTESTCD from ' ~ ref('lab_units') ~ ')'),
            issue('LBORRES', 'implausible',
                  "upper(trim(LBTESTCD)) = 'NTPROBNP' and (LBSTRESN_PARSED < " ~ catalog_bound('LOW', 'lb', 'NTPROBNP')
                  ~ ' or LBSTRESN_PARSED > ' ~ catalog_bound('HIGH', 'lb', 'NTPROBNP') ~ ')'),
            check_parses('LBORNRLO', 'LBORNRLO_PARSED', 'not-a-number'),
            check_parses('LBORNRHI', 'LBORNRHI_PARSED', 'not-a-number'),
        ]) }}
    ),

    flagged as (
        select
            *,
            list_has_any(ERROR_FIELDS, ['LBORRES', 'LBORRESU']) as RESULT_EXCLUDED
        from checked
    )

    select
        {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'LBDTC', 'LBTESTCD']) }},
        {{ clean_code('VISIT') }} as VISIT,
        {{ clean_text('LBDTC') }} as LBDTC,
        {{ analysable('LBDTM_PARSED', 'LBDTC') }} as LBDTM,
        {{ analysable('LBDT_PARSED', 'LBDTC') }} as LBDT,
        {{ analysable(clean_code('LBTESTCD'), 'LBTESTCD') }} as LBTESTCD,
        {{ clean_text('LBORRES') }} as LBORRES,
        {{ clean_text('LBORRESU') }} as LBORRESU,
        case when not RESULT_EXCLUDED then LBSTRESN_PARSED end as LBSTRESN,
        case when not RESULT_EXCLUDED then STANDARD_UNIT end as LBSTRESU,
        case when not RESULT_EXCLUDED and LIMIT_QUALIFIER = '<' then 'Y' end as BLQFL,
        case when not RESULT_EXCLUDED and LIMIT_QUALIFIER = '>' then 'Y' end as ALQFL,
        {{ analysable('LBORNRLO_PARSED', 'LBORNRLO') }} as LBORNRLO,
        {{ analysable('LBORNRHI_PARSED', 'LBORNRHI') }} as LBORNRHI,
        ISSUES
    from flagged
{%- endmacro %}
