{#- A package model is named `<schema>_<dataset>` (sdtm_dm: model names are one namespace across
    the project, and marts.adsl is not adam.adsl) and its table is the dataset: `sdtm.dm`. -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.config.schema in ('sdtm', 'adam') and node.name.startswith(node.config.schema ~ '_') -%}
        {{ node.name[node.config.schema | length + 1:] }}
    {%- elif node.version -%}
        {{ node.name ~ '_v' ~ (node.version | replace('.', '_')) }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
