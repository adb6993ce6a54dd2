-- One row per analysable source value of the directly measured parameters (echo, CT, NT-proBNP,
-- NYHA, 6-minute walk, SF-12 scores), long form, named by the parameter_catalog seed. Excluded
-- values (data issues) are already NULL in staging and do not appear.
{{ incremental_by_site() }}
with

echo_values as (
    select SITEID, USUBJID, 'echo' as SRCDOM, RECID, SOURCE_LINE, VISIT, ECHODT as ADT, null::timestamp as ADTM, SRCVAR, AVAL
    from (select * from {{ ref('stg_edc__echo') }} where not ROW_EXCLUDED and {{ in_rebuilt_sites() }})
    unpivot (AVAL for SRCVAR in (LVEF, LVEDV, LVESV, LVEDD, LVESD))
),

ct_values as (
    select SITEID, USUBJID, 'ct' as SRCDOM, RECID, SOURCE_LINE, VISIT, CTDT as ADT, null::timestamp as ADTM, SRCVAR, AVAL
    from (select * from {{ ref('stg_edc__ct') }} where not ROW_EXCLUDED and {{ in_rebuilt_sites() }})
    unpivot (AVAL for SRCVAR in (LVEF, LVEDV, LVESV, IVS, LVPW))
),

fs_values as (
    select SITEID, USUBJID, 'fs' as SRCDOM, RECID, SOURCE_LINE, VISIT, FSDT as ADT, null::timestamp as ADTM, SRCVAR, AVAL
    from (select * exclude (NYHA), NYHA::double as NYHA from {{ ref('stg_edc__fs') }} where not ROW_EXCLUDED and {{ in_rebuilt_sites() }})
    unpivot (AVAL for SRCVAR in (NYHA, SMWD))
),

sf12_values as (
    select SITEID, USUBJID, 'qs' as SRCDOM, RECID, SOURCE_LINE, VISIT, QSDT as ADT, null::timestamp as ADTM,
        QSTESTCD as SRCVAR, QSSTRESN as AVAL
    from {{ ref('stg_edc__qs') }}
    where not ROW_EXCLUDED and QSCAT = 'SF12' and QSSTRESN is not null and {{ in_rebuilt_sites() }}
),

plain_numbers as (
    select * from echo_values
    union all
    select * from ct_values
    union all
    select * from fs_values
    union all
    select * from sf12_values
),

measured as (
    select *, null::varchar as AVALC, null::varchar as BLQFL, null::varchar as ALQFL from plain_numbers
    union all
    select
        SITEID, USUBJID, 'lb' as SRCDOM, RECID, SOURCE_LINE, VISIT, LBDT as ADT, LBDTM as ADTM,
        LBTESTCD as SRCVAR, LBSTRESN as AVAL,
        -- AVALC: the result as delivered when it is not a plain number (<x, >x)
        case when BLQFL = 'Y' or ALQFL = 'Y' then LBORRES end as AVALC,
        BLQFL,
        ALQFL
    from {{ ref('stg_edc__lb') }}
    where not ROW_EXCLUDED and LBSTRESN is not null and {{ in_rebuilt_sites() }}
)

select
    'NCT04325594' as STUDYID,
    measured.SITEID,
    measured.USUBJID,
    catalog.PARAMCD,
    catalog.PARAM,
    catalog.PARAMU,
    catalog.PARAMN,
    measured.SRCDOM,
    measured.RECID as SRCRECID,
    measured.SOURCE_LINE,
    measured.VISIT,
    measured.ADT,
    measured.ADTM,
    measured.AVAL,
    measured.AVALC,
    measured.BLQFL,
    measured.ALQFL
from measured
inner join {{ ref('parameter_catalog') }} as catalog
    on catalog.SRCDOM = measured.SRCDOM and catalog.SRCVAR = measured.SRCVAR
