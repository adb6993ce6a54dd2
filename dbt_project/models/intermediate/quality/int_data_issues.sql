-- One row per data issue found in each site's latest transfer: every ISSUES entry of every staged
-- file, with the record it belongs to.
{% set files = ['dm', 'ie', 'ex', 'sv', 'echo', 'ct', 'lb', 'fs', 'qs', 'ae', 'ds'] %}
with

issues as (
    {% for file in files %}
    select
        SITEID,
        EXTRACT_ID,
        USUBJID,
        '{{ file }}' as SRCDOM,
        RECID as SRCRECID,
        SOURCE_LINE,
        unnest(ISSUES) as ISSUE
    from {{ ref('stg_edc__' ~ file) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    SITEID,
    EXTRACT_ID,
    USUBJID,
    SRCDOM,
    SRCRECID,
    SOURCE_LINE,
    ISSUE.FIELD as FIELD,
    ISSUE.VALUE as VALUE,
    ISSUE.RULE as RULE,
    ISSUE.SEVERITY as SEVERITY
from issues
