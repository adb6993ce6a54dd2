-- ADAE's records: one row per adverse event of a SAFFL subject (none dropped, whatever its onset).
-- Published as marts.adae; read by the safety summary and the ADaM ADAE.
with

safety_population as (
    select STUDYID, USUBJID
    from {{ ref('int_adsl') }}
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
