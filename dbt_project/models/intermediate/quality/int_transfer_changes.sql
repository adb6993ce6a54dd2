-- One row per record that a site's latest loaded transfer added or deleted, and one per field it
-- changed, against the site's previous loaded transfer (extract-id order), read from history: a
-- version opened by the latest transfer is new, one it closed is gone; a record with both changed.
-- Rows without a RECID cannot be matched across transfers: they show as added and deleted.
{{ incremental_by_site() }}
with

ranked_transfers as (
    select
        SITEID,
        EXTRACT_ID,
        row_number() over (partition by SITEID order by EXTRACT_ID desc) as RECENCY
    from ({{ loaded_transfers() }})
    where {{ in_rebuilt_sites() }}
),

latest_two as (
    select
        SITEID,
        max(EXTRACT_ID) filter (where RECENCY = 1) as EXTRACT_ID,
        max(EXTRACT_ID) filter (where RECENCY = 2) as PREVIOUS_EXTRACT
    from ranked_transfers
    group by SITEID
    having PREVIOUS_EXTRACT is not null
),

{% for file in dts_files() %}
{%- set fields = dts_columns(file) | reject('equalto', 'RECID') | list %}
{{ file }}_opened as (
    select versions.*
    from {{ source('history', file) }} as versions
    inner join latest_two on versions.SITEID = latest_two.SITEID and versions.VALID_FROM = latest_two.EXTRACT_ID
),

{{ file }}_closed as (
    select versions.*
    from {{ source('history', file) }} as versions
    inner join latest_two on versions.SITEID = latest_two.SITEID and versions.VALID_TO = latest_two.EXTRACT_ID
),

{{ file }}_changes as (
    select
        coalesce(new.SITEID, old.SITEID) as SITEID,
        '{{ file }}' as SRCDOM,
        coalesce(new.RECID, old.RECID) as RECID,
        coalesce(new.SUBJID, old.SUBJID) as SUBJID,
        new.SOURCE_LINE,
        case
            when old.ROW_HASH is null then 'ADDED'
            when new.ROW_HASH is null then 'DELETED'
            else 'CHANGED'
        end as CHANGE,
        case when old.ROW_HASH is not null and new.ROW_HASH is not null then [
            {%- for field in fields %}
            {'FIELD': '{{ field }}', 'OLD_VALUE': old.{{ field }}, 'NEW_VALUE': new.{{ field }}}{{ ',' if not loop.last }}
            {%- endfor %}
        ] end as FIELD_VALUES
    from {{ file }}_opened as new
    full outer join {{ file }}_closed as old
        on new.SITEID = old.SITEID and new.RECID = old.RECID
),
{% endfor %}

record_changes as (
    {% for file in dts_files() %}
    select * from {{ file }}_changes
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    latest_two.SITEID,
    latest_two.PREVIOUS_EXTRACT,
    latest_two.EXTRACT_ID,
    changes.SRCDOM,
    changes.RECID,
    changes.SUBJID,
    changes.SOURCE_LINE,
    changes.CHANGE,
    changes.FIELD,
    changes.OLD_VALUE,
    changes.NEW_VALUE
from (
    select * exclude (FIELD_VALUES), null::varchar as FIELD, null::varchar as OLD_VALUE, null::varchar as NEW_VALUE
    from record_changes
    where CHANGE <> 'CHANGED'
    union all
    select
        * exclude (FIELD_VALUES, FIELD_VALUE),
        FIELD_VALUE.FIELD,
        FIELD_VALUE.OLD_VALUE,
        FIELD_VALUE.NEW_VALUE
    from (select *, unnest(FIELD_VALUES) as FIELD_VALUE from record_changes where CHANGE = 'CHANGED')
    where FIELD_VALUE.OLD_VALUE is distinct from FIELD_VALUE.NEW_VALUE
) as changes
inner join latest_two using (SITEID)
