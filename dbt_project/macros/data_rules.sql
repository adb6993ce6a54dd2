{#- Data rules of the DTS (sections 3 and 7), evaluated row by row in staging.

    Each check gives an issue struct {FIELD, VALUE, RULE, SEVERITY} or NULL; `collect_issues` keeps
    the non-NULL ones as the row's ISSUES list. SEVERITY 'ERROR' excludes the value (or, on a key
    field, the row) from analysis; 'WARNING' keeps it. Every issue becomes a row of
    marts.data_issues. -#}

{% macro issue(field, rule, condition, severity='ERROR', value=none) -%}
    case when {{ condition }} then {
        'FIELD': '{{ field }}',
        'VALUE': ({{ value if value is not none else 'trim(' ~ field ~ ')' }})::varchar,
        'RULE': '{{ rule }}',
        'SEVERITY': '{{ severity }}'
    } end
{%- endmacro %}

{% macro is_blank(field) -%}
    (nullif(trim({{ field }}), '') is null)
{%- endmacro %}

{#- A value the DTS requires is missing. -#}
{% macro check_required(field, severity='ERROR') -%}
    {{ issue(field, 'required', is_blank(field), severity, value='NULL') }}
{%- endmacro %}

{#- A value is present but does not parse (number, date, datetime). -#}
{% macro check_parses(field, parsed, rule, severity='ERROR') -%}
    {{ issue(field, rule, 'not ' ~ is_blank(field) ~ ' and (' ~ parsed ~ ') is null', severity) }}
{%- endmacro %}

{#- A code outside its DTS code list (matched upper-cased and trimmed). -#}
{% macro check_code(field, list_name, severity='ERROR') -%}
    {{ issue(field, 'code-list', 'not ' ~ is_blank(field) ~ ' and upper(trim(' ~ field ~ ')) not in (select CODE from '
        ~ ref('code_lists') ~ " where LIST_NAME = '" ~ list_name ~ "')", severity) }}
{%- endmacro %}

{#- A number outside its plausible range (inclusive bounds). -#}
{% macro check_range(field, value, low, high, severity='ERROR') -%}
    {{ issue(field, 'implausible', '(' ~ value ~ ') < (' ~ low ~ ') or (' ~ value ~ ') > (' ~ high ~ ')', severity) }}
{%- endmacro %}

{#- The plausible range of a catalog parameter, read from the parameter_catalog seed. -#}
{% macro catalog_bound(bound, srcdom, srcvar) -%}
    (select {{ bound }} from {{ ref('parameter_catalog') }} where SRCDOM = '{{ srcdom }}' and SRCVAR = '{{ srcvar }}')
{%- endmacro %}

{% macro check_catalog_range(field, value, srcdom, srcvar=none, severity='ERROR') -%}
    {{ check_range(field, value, catalog_bound('LOW', srcdom, srcvar or field), catalog_bound('HIGH', srcdom, srcvar or field), severity) }}
{%- endmacro %}

{#- Dates may not be after the extract's date, nor before the subject's consent. `earliest` and
    `latest` bound the date a (possibly partial) value can stand for. -#}
{% macro check_date_bounds(field, earliest, latest=none, severity='ERROR') -%}
    {{ issue(field, 'after-extract-date', '(' ~ earliest ~ ') > EXTRACT_DATE', severity) }},
    {{ issue(field, 'before-consent', '(' ~ (latest or earliest) ~ ') < SUBJECT_CONSDT', severity) }}
{%- endmacro %}

{#- The row's SUBJID is not a subject of the site's dm.csv. -#}
{% macro check_subject_known() -%}
    {{ issue('SUBJID', 'unknown-subject', 'not ' ~ is_blank('SUBJID') ~ ' and not SUBJECT_KNOWN') }}
{%- endmacro %}

{% macro collect_issues(checks) -%}
    list_filter([
        {{ checks | join(',\n        ') }}
    ], lambda i: i is not null)
{%- endmacro %}

{#- Fields whose value an ERROR issue excludes from analysis. -#}
{% macro error_fields() -%}
    list_transform(list_filter(ISSUES, lambda i: i.SEVERITY = 'ERROR'), lambda i: i.FIELD)
{%- endmacro %}

{#- The typed value when no ERROR issue excludes it, else NULL. -#}
{% macro analysable(value, field) -%}
    case when not list_contains(ERROR_FIELDS, '{{ field }}') then {{ value }} end
{%- endmacro %}

{#- The row cannot be analysed when one of its key fields is excluded. -#}
{% macro row_excluded(key_fields) -%}
    list_has_any(ERROR_FIELDS, [{% for f in key_fields %}'{{ f }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}

{#- The rows of a raw file from the transfers in `transfers` (see transfer_rows) with their subject's
    dm facts in the same transfer: known or not, consent. `subjects` is those transfers' staged dm. -#}
{% macro rows_with_subject(raw_file, transfers, subjects) -%}
    select
        source_rows.*,
        subjects.SUBJID is not null as SUBJECT_KNOWN,
        subjects.CONSDT as SUBJECT_CONSDT
    from ({{ transfer_rows(raw_file, transfers) }}) as source_rows
    left join (
        select SITEID, EXTRACT_ID, SUBJID, CONSDT from {{ subjects }} where not ROW_EXCLUDED
    ) as subjects
        on subjects.SITEID = source_rows.SITEID
        and subjects.EXTRACT_ID = source_rows.EXTRACT_ID
        and subjects.SUBJID = trim(source_rows.SUBJID)
{%- endmacro %}

{#- Checks every record gets: RECID and SUBJID present, the subject known in dm.csv. -#}
{% macro record_checks() -%}
    {{ return([check_required('RECID'), check_required('SUBJID'), check_subject_known()]) }}
{%- endmacro %}

{#- A nominal visit: present and in the VISIT code list. -#}
{% macro visit_checks() -%}
    {{ return([check_required('VISIT'), check_code('VISIT', 'VISIT')]) }}
{%- endmacro %}

{#- The record's own date: present, parseable, not after the extract nor before consent. -#}
{% macro date_checks(field, parsed, rule='not-a-date') -%}
    {{ return([check_required(field), check_parses(field, parsed, rule), check_date_bounds(field, parsed)]) }}
{%- endmacro %}

{#- The rows of `relation` with their ISSUES (from `checks`) and the fields an ERROR excludes. -#}
{% macro checked_rows(relation, checks) -%}
    select *, {{ error_fields() }} as ERROR_FIELDS
    from (
        select *, {{ collect_issues(checks) }} as ISSUES
        from {{ relation }}
    )
{%- endmacro %}

{#- The first columns of every staged record: lineage, keys, and whether it can be analysed. -#}
{% macro staged_record(key_fields) -%}
    {{ record_keys() }},
    EXTRACT_DATE,
    {{ row_excluded(key_fields) }} as ROW_EXCLUDED
{%- endmacro %}
