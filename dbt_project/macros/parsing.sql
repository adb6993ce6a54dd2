{#- Typing of delivered text (DTS section 3). A value that does not parse is NULL here; the rule
    flags that report it are staging's job. -#}

{#- A number under the transfer's decimal separator: `27.5`, or `27,5` when the manifest says `,`.
    NaN/inf spellings and thousands separators do not parse. -#}
{% macro parse_number(column, decimal_separator='DECIMAL_SEPARATOR') -%}
    case
        when regexp_full_match(
            trim({{ column }}),
            case when {{ decimal_separator }} = ',' then '[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?'
                 else '[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?' end
        )
        then cast(replace(trim({{ column }}), ',', '.') as double)
    end
{%- endmacro %}

{#- An ISO 8601 date `YYYY-MM-DD`; a datetime's date part is not accepted here. -#}
{% macro parse_date(column) -%}
    case when regexp_full_match(trim({{ column }}), '\d{4}-\d{2}-\d{2}')
         then try_strptime(trim({{ column }}), '%Y-%m-%d')::date end
{%- endmacro %}

{#- An ISO 8601 datetime `YYYY-MM-DDTHH:MM[:SS]` (site local time); NULL for a date only. -#}
{% macro parse_datetime(column) -%}
    case
        when regexp_full_match(trim({{ column }}), '\d{4}-\d{2}-\d{2}T\d{2}:\d{2}')
            then try_strptime(trim({{ column }}), '%Y-%m-%dT%H:%M')
        when regexp_full_match(trim({{ column }}), '\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}')
            then try_strptime(trim({{ column }}), '%Y-%m-%dT%H:%M:%S')
    end
{%- endmacro %}

{#- The date part of a date or datetime value. -#}
{% macro parse_date_part(column) -%}
    {{ parse_date("left(trim(" ~ column ~ "), 10)") }}
{%- endmacro %}

{#- Codes are matched case-insensitively after trimming. -#}
{% macro clean_code(column) -%}
    nullif(upper(trim({{ column }})), '')
{%- endmacro %}

{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro usubjid(site_column='SITEID', subjid_column='SUBJID') -%}
    'NCT04325594-' || {{ site_column }} || '-' || trim({{ subjid_column }})
{%- endmacro %}

{#- The columns every staged record starts with: where it came from and whose it is. -#}
{% macro record_keys() -%}
    SITEID,
    EXTRACT_ID,
    SOURCE_FILE,
    SOURCE_LINE,
    {{ clean_text('RECID') }} as RECID,
    {{ clean_text('SUBJID') }} as SUBJID,
    {{ usubjid() }} as USUBJID
{%- endmacro %}

{#- The first and last day a full or partial ISO date (YYYY, YYYY-MM, YYYY-MM-DD, or a datetime) can
    stand for, as <column>_EARLIEST and <column>_LATEST; both NULL when it is none of those. -#}
{% macro partial_date_bounds(column) -%}
    {%- set value = 'trim(' ~ column ~ ')' -%}
    case
        when regexp_full_match({{ value }}, '\d{4}') then make_date({{ value }}::integer, 1, 1)
        when regexp_full_match({{ value }}, '\d{4}-\d{2}') then try_strptime({{ value }} || '-01', '%Y-%m-%d')::date
        else coalesce({{ parse_datetime(column) }}::date, {{ parse_date(column) }})
    end as {{ column }}_EARLIEST,
    case
        when regexp_full_match({{ value }}, '\d{4}') then make_date({{ value }}::integer, 12, 31)
        when regexp_full_match({{ value }}, '\d{4}-\d{2}') then last_day(try_strptime({{ value }} || '-01', '%Y-%m-%d')::date)
        else coalesce({{ parse_datetime(column) }}::date, {{ parse_date(column) }})
    end as {{ column }}_LATEST
{%- endmacro %}
