-- One row per data issue found in each site's latest transfer: every ISSUES entry of every staged
-- file, with the record it belongs to.
{{ incremental_by_site() }}
with

issues as (
    {% for file in dts_files() %}
    {{ issues_of('(select * from ' ~ ref('stg_edc__' ~ file) ~ ' where ' ~ in_rebuilt_sites() ~ ')', file) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    {{ issue_id(field='ISSUE.FIELD', rule='ISSUE.RULE') }} as ISSUE_ID,
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
