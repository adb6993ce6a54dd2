{#- The rows of a raw file from each site's latest loaded transfer (transfers are cumulative, so
    the latest one is the site's whole current state), with that transfer's decimal separator. -#}
{% macro latest_loaded_transfer(raw_file) -%}
    select raw_rows.*, latest.DECIMAL_SEPARATOR
    from {{ source('raw', raw_file) }} as raw_rows
    inner join {{ ref('stg_edc__latest_transfers') }} as latest
        using (SITEID, EXTRACT_ID)
{%- endmacro %}
