{#- Layers land in schemas named as the layer (staging, intermediate, marts), not main_<layer>:
    analysts query `marts.adsl` as the contract says. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
