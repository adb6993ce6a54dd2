{#- The staged rows of one DTS file for the transfers in `transfers` (see staged_<file>). -#}
{% macro staged_file(file, transfers, subjects) -%}
    {%- if file == 'dm' -%} {{ staged_dm(transfers) }}
    {%- elif file == 'ie' -%} {{ staged_ie(transfers, subjects) }}
    {%- elif file == 'ex' -%} {{ staged_ex(transfers, subjects) }}
    {%- elif file == 'sv' -%} {{ staged_sv(transfers, subjects) }}
    {%- elif file == 'echo' -%} {{ staged_echo(transfers, subjects) }}
    {%- elif file == 'ct' -%} {{ staged_ct(transfers, subjects) }}
    {%- elif file == 'lb' -%} {{ staged_lb(transfers, subjects) }}
    {%- elif file == 'fs' -%} {{ staged_fs(transfers, subjects) }}
    {%- elif file == 'qs' -%} {{ staged_qs(transfers, subjects) }}
    {%- elif file == 'ae' -%} {{ staged_ae(transfers, subjects) }}
    {%- elif file == 'ds' -%} {{ staged_ds(transfers, subjects) }}
    {%- else -%} {{ exceptions.raise_compiler_error('not a DTS file: ' ~ file) }}
    {%- endif -%}
{%- endmacro %}

{#- The DTS files, dm first (the others are checked against its subjects). -#}
{% macro dts_files() -%}
    {{ return(['dm', 'ie', 'ex', 'sv', 'echo', 'ct', 'lb', 'fs', 'qs', 'ae', 'ds']) }}
{%- endmacro %}

{#- One row per issue of a staged relation: its ISSUES list unnested, with the record it belongs to. -#}
{% macro issues_of(staged, file) -%}
    select
        SITEID,
        EXTRACT_ID,
        USUBJID,
        '{{ file }}' as SRCDOM,
        RECID as SRCRECID,
        SOURCE_LINE,
        unnest(ISSUES) as ISSUE
    from {{ staged }}
{%- endmacro %}

{#- ISSUE_ID: the same issue in every transfer while site, file, RECID, field and rule are. -#}
{% macro issue_id(siteid='SITEID', srcdom='SRCDOM', srcrecid='SRCRECID', field='FIELD', rule='RULE') -%}
    md5(concat_ws('|', {{ siteid }}, {{ srcdom }}, coalesce({{ srcrecid }}, ''), {{ field }}, {{ rule }}))
{%- endmacro %}
