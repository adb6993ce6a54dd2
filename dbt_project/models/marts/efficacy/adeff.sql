-- Contract marts.adeff: one row per SAFFL subject x parameter x analysed date (int_efficacy__adeff).
{{ incremental_by_site() }}
select * from {{ ref('int_efficacy__adeff') }}
where {{ in_rebuilt_sites() }}
order by USUBJID, PARAMN, ADT, PREINFFL nulls last
