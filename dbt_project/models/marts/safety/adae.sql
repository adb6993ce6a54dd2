-- Contract marts.adae: one row per adverse event of a SAFFL subject (none dropped, whatever its onset).
with

safety_population as (
    select STUDYID, USUBJID
    from {{ ref('adsl') }}
    where SAFFL = 'Y'
)

select
    safety_population.STUDYID,
    ae.USUBJID,
    ae.AESPID,
    ae.AETERM,
    ae.AEDECOD,
    ae.AEBODSYS,
    ae.ASTDT,
    ae.ASTDTM,
    ae.ASTDTF,
    ae.AENDT,
    ae.ASTDY,
    ae.TRTEMFL,
    ae.PRIMWFL,
    ae.AESER,
    ae.AESEV,
    ae.AREL,
    ae.AEOUT,
    ae.SRCRECID
from {{ ref('int_safety__ae') }} as ae
inner join safety_population using (USUBJID)
order by ae.USUBJID, ae.ASTDT nulls last, ae.ASTDTM nulls last, ae.AESPID, ae.SRCRECID
