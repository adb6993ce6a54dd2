{#- Every loaded transfer with the settings staging reads its files under, and whether it is its
    site's latest (transfers are cumulative: the latest is the site's whole current state). -#}
{% macro loaded_transfers() -%}
    select
        SITEID,
        EXTRACT_ID,
        -- EXTRACT_DATE: the date part of EXTRACT_ID; no delivered date may be after it
        strptime(left(EXTRACT_ID, 8), '%Y%m%d')::date as EXTRACT_DATE,
        DECIMAL_SEPARATOR,
        ENCODING,
        DELIMITER,
        LOADED_AT,
        EXTRACT_ID = max(EXTRACT_ID) over (partition by SITEID) as IS_LATEST
    from {{ source('raw', 'transfer_log') }}
    where STATUS = 'LOADED'
{%- endmacro %}

{#- The rows of a raw file from the transfers in `transfers` (a relation with SITEID, EXTRACT_ID,
    DECIMAL_SEPARATOR, EXTRACT_DATE), their load and DTS columns with that transfer's decimal
    separator and extract date. Rows
    of one transfer identical in every DTS column but RECID (after trimming) are one value: the
    first of them (lowest line) is kept. -#}
{% macro transfer_rows(raw_file, transfers) -%}
    select
        {#- the load and DTS columns only: an extra column a site sends stays in raw (DTS section 3),
            whatever its name (one named DECIMAL_SEPARATOR must not clash with the one below) #}
        raw_rows.SITEID,
        raw_rows.EXTRACT_ID,
        raw_rows.SOURCE_FILE,
        raw_rows.SOURCE_LINE,
        raw_rows.LOADED_AT,
        {%- for column in dts_columns(raw_file) %}
        raw_rows.{{ column }},
        {%- endfor %}
        transfers.DECIMAL_SEPARATOR,
        transfers.EXTRACT_DATE
    from {{ source('raw', raw_file) }} as raw_rows
    inner join {{ transfers }} as transfers
        using (SITEID, EXTRACT_ID)
    qualify row_number() over (
        partition by SITEID, EXTRACT_ID
        {%- for column in dts_columns(raw_file) if column != 'RECID' %}, trim({{ column }}){% endfor %}
        order by SOURCE_LINE
    ) = 1
{%- endmacro %}
