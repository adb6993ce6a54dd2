-- Contract marts.safety_summary: treatment-emergent AEs of SAFFL subjects per PERIOD x LEVEL x term.
with

-- the denominator: SAFFL subjects of all sites
safety_population as (
    select count(*) as N_SAFFL
    from {{ ref('int_adsl') }}
    where SAFFL = 'Y'
),

-- the periods, each with the flag that selects its AEs (display order in PERIODN)
periods as (
    select * from (values
        (1, 'PRIMARY WINDOW'),
        (2, 'OVERALL')
    ) as p (PERIODN, PERIOD)
),

-- PERIOD membership: PRIMARY WINDOW holds the PRIMWFL AEs, OVERALL the TRTEMFL AEs
period_ae as (
    select 'PRIMARY WINDOW' as PERIOD, * from {{ ref('int_safety__adae') }} where PRIMWFL = 'Y'
    union all by name
    select 'OVERALL' as PERIOD, * from {{ ref('int_safety__adae') }} where TRTEMFL = 'Y'
),

-- LEVEL ANY: one row per period, present with zero counts when the period has no AE
any_level as (
    select
        periods.PERIOD,
        'ANY' as LEVEL,
        null::varchar as AEBODSYS,
        null::varchar as AEDECOD,
        {{ safety_ae_counts('ae') }}
    from periods
    left join period_ae as ae using (PERIOD)
    group by periods.PERIOD
),

-- LEVEL SOC: one row per period x body system (an uncoded AEBODSYS is its own NULL group)
soc_level as (
    select
        ae.PERIOD,
        'SOC' as LEVEL,
        ae.AEBODSYS,
        null::varchar as AEDECOD,
        {{ safety_ae_counts('ae') }}
    from period_ae as ae
    group by ae.PERIOD, ae.AEBODSYS
),

-- LEVEL PT: one row per period x body system x preferred term
pt_level as (
    select
        ae.PERIOD,
        'PT' as LEVEL,
        ae.AEBODSYS,
        ae.AEDECOD,
        {{ safety_ae_counts('ae') }}
    from period_ae as ae
    group by ae.PERIOD, ae.AEBODSYS, ae.AEDECOD
),

all_levels as (
    select * from any_level
    union all
    select * from soc_level
    union all
    select * from pt_level
)

select
    all_levels.PERIOD,
    all_levels.LEVEL,
    all_levels.AEBODSYS,
    all_levels.AEDECOD,
    all_levels.N_SUBJ,
    -- PCT_SUBJ: 100 * N_SUBJ / SAFFL subjects of all sites (NULL when there is none)
    (100.0 * all_levels.N_SUBJ / nullif(safety_population.N_SAFFL, 0))::double as PCT_SUBJ,
    all_levels.N_EVENTS,
    all_levels.N_SUBJ_SERIOUS,
    all_levels.N_SUBJ_RELATED,
    all_levels.N_SUBJ_SEVERE
from all_levels
cross join safety_population
inner join periods using (PERIOD)
order by
    periods.PERIODN,
    case all_levels.LEVEL when 'ANY' then 1 when 'SOC' then 2 else 3 end,
    all_levels.AEBODSYS nulls first,
    all_levels.AEDECOD nulls first
