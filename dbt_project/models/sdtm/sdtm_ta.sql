-- SDTM TA: the planned elements of each arm in order (seed trial_arms; element names from
-- trial_elements). Trial design: not per site, built whole in every build.
{{ config(materialized='table') }}

select
    'NCT04325594' as STUDYID,
    'TA' as DOMAIN,
    arms.ARMCD,
    arms.ARM,
    arms.TAETORD,
    arms.ETCD,
    elements.ELEMENT,
    -- TABRANCH / TATRANS: one arm, no branch and no transition
    cast(null as varchar) as TABRANCH,
    cast(null as varchar) as TATRANS,
    arms.EPOCH
from {{ ref('trial_arms') }} as arms
inner join {{ ref('trial_elements') }} as elements using (ETCD)
order by arms.ARMCD, arms.TAETORD
