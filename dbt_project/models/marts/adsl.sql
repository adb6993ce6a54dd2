-- Contract marts.adsl: one row per subject of each site's latest good transfer (int_adsl).
{{ incremental_by_site() }}
select * from {{ ref('int_adsl') }}
where {{ in_rebuilt_sites() }}
order by SITEID, SUBJID
