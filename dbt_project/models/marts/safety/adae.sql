-- Contract marts.adae: one row per adverse event of a SAFFL subject (int_safety__adae).
select * from {{ ref('int_safety__adae') }}
order by USUBJID, ASTDT nulls last, ASTDTM nulls last, AESPID, SRCRECID
