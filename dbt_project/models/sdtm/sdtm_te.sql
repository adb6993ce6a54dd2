-- SDTM TE: the trial's elements (seed trial_elements), one row per element. Trial design: not per
-- site, built whole in every build.
{{ config(materialized='table') }}

select
    'NCT04325594' as STUDYID,
    'TE' as DOMAIN,
    ETCD,
    ELEMENT,
    TESTRL,
    TEENRL
from {{ ref('trial_elements') }}
order by ETCD
