{#- Efficacy derivations shared by the efficacy models (DTS section 4). -#}

{#- The efficacy parameters of the contract, in display order: the parameters of marts.adeff and
    marts.efficacy_summary and the columns of marts.subject_visits. Their names, units and order
    come from the parameter_catalog seed; a data test on marts.efficacy_summary checks the catalog
    holds every one of them. -#}
{% macro efficacy_paramcds() -%}
    {{ return([
        'LVEFECHO', 'LVEDVECH', 'LVESVECH', 'LVEDDECH', 'LVESDECH',
        'LVEFCT', 'LVEDVCT', 'LVESVCT', 'IVSCT', 'LVPWCT',
        'NTPROBNP', 'NYHA', 'SMWD',
        'MLHFQTOT', 'MLHFQPHY', 'MLHFQEMO',
        'KCCQPL', 'KCCQSF', 'KCCQQL', 'KCCQSL', 'KCCQOSS',
        'SF12PCS', 'SF12MCS'
    ]) }}
{%- endmacro %}

{#- Study day of a date: date - TRTSDT + 1 on or after the infusion date, date - TRTSDT before it
    (there is no day 0). -#}
{% macro efficacy_study_day(date_column, start_date_column='TRTSDT') -%}
    (case
        when {{ date_column }} >= {{ start_date_column }}
            then datediff('day', {{ start_date_column }}, {{ date_column }}) + 1
        else datediff('day', {{ start_date_column }}, {{ date_column }})
    end)::integer
{%- endmacro %}

{#- Pre-infusion: before the infusion date; on the infusion date, a date-only value, any value when
    the infusion has no time, or a value timed at or before the infusion time. -#}
{% macro efficacy_is_pre_infusion(date_column='ADT', datetime_column='ADTM',
                                  start_date_column='TRTSDT', start_datetime_column='TRTSDTM') -%}
    (
        {{ date_column }} < {{ start_date_column }}
        or (
            {{ date_column }} = {{ start_date_column }}
            and (
                {{ start_datetime_column }} is null
                or {{ datetime_column }} is null
                or {{ datetime_column }} <= {{ start_datetime_column }}
            )
        )
    )
{%- endmacro %}
