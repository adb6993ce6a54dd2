-- SDTM TI: the trial's inclusion and exclusion criteria, one row per criterion (the IETESTCD terms
-- of sdtm_terminology; the criterion text is their DECODE). Trial design: built whole in every build.
{{ config(materialized='table') }}

select
    'NCT04325594' as STUDYID,
    'TI' as DOMAIN,
    TERM as IETESTCD,
    DECODE as IETEST,
    -- IECAT: INCLUSION for IN.., EXCLUSION for EX.. (as sdtm_ie)
    case when TERM like 'IN%' then 'INCLUSION' else 'EXCLUSION' end as IECAT
from {{ ref('sdtm_terminology') }}
where CODELIST = 'IETESTCD'
order by IECAT desc, IETESTCD
