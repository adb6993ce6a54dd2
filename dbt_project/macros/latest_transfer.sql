{#- The rows of a raw file from each site's latest loaded transfer (transfers are cumulative, so
    the latest one is the site's whole current state), with that transfer's decimal separator and
    extract date. Rows identical in every DTS column but RECID (after trimming) are one value: the
    first of them (lowest line) is kept. -#}
{% macro latest_loaded_transfer(raw_file) -%}
    select
        raw_rows.*,
        latest.DECIMAL_SEPARATOR,
        latest.EXTRACT_DATE
    from {{ source('raw', raw_file) }} as raw_rows
    inner join {{ ref('stg_edc__latest_transfers') }} as latest
        using (SITEID, EXTRACT_ID)
    qualify row_number() over (
        partition by SITEID
        {%- for column in dts_columns(raw_file) if column != 'RECID' %}, trim({{ column }}){% endfor %}
        order by SOURCE_LINE
    ) = 1
{%- endmacro %}
