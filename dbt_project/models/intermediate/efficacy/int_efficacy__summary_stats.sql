-- Descriptive statistics of the efficacy summary, one row per parameter x analysis visit over the
-- EFFFL subjects' ANL01FL records. The t interval and t-test are added by marts.efficacy_summary.
-- Floating-point sums and means are ordered (`avg(x order by ...)`): a rebuild gives the same bits.
with

efficacy_subjects as (
    select USUBJID from {{ ref('adsl') }} where EFFFL = 'Y'
),

analysed as (
    select adeff.USUBJID, adeff.PARAMCD, adeff.AVISITN, adeff.AVAL, adeff.CHG
    from {{ ref('adeff') }} as adeff
    inner join efficacy_subjects using (USUBJID)
    where adeff.ANL01FL = 'Y'
),

-- Every efficacy parameter at every analysis visit, even with no record
grid as (
    select catalog.PARAMCD, catalog.PARAMN, visits.AVISIT, visits.AVISITN
    from {{ ref('parameter_catalog') }} as catalog
    cross join {{ ref('visit_windows') }} as visits
    where catalog.PARAMCD in ('{{ efficacy_paramcds() | join("', '") }}')
),

-- N..MAX of AVAL and N_CHG..SD_CHG of CHG; quartiles by linear interpolation, sample SD
statistics as (
    select
        grid.PARAMCD,
        grid.PARAMN,
        grid.AVISIT,
        grid.AVISITN,
        count(analysed.AVAL) as N,
        avg(analysed.AVAL order by analysed.USUBJID) as MEAN,
        stddev_samp(analysed.AVAL order by analysed.USUBJID) as SD,
        quantile_cont(analysed.AVAL, 0.5) as MEDIAN,
        quantile_cont(analysed.AVAL, 0.25) as Q1,
        quantile_cont(analysed.AVAL, 0.75) as Q3,
        min(analysed.AVAL) as MIN,
        max(analysed.AVAL) as MAX,
        count(analysed.CHG) as N_CHG,
        avg(analysed.CHG order by analysed.USUBJID) as MEAN_CHG,
        stddev_samp(analysed.CHG order by analysed.USUBJID) as SD_CHG
    from grid
    left join analysed using (PARAMCD, AVISITN)
    group by grid.PARAMCD, grid.PARAMN, grid.AVISIT, grid.AVISITN
)

select
    PARAMCD::varchar as PARAMCD,
    PARAMN::integer as PARAMN,
    AVISIT::varchar as AVISIT,
    AVISITN::integer as AVISITN,
    N::integer as N,
    MEAN::double as MEAN,
    SD::double as SD,
    MEDIAN::double as MEDIAN,
    Q1::double as Q1,
    Q3::double as Q3,
    MIN::double as MIN,
    MAX::double as MAX,
    N_CHG::integer as N_CHG,
    MEAN_CHG::double as MEAN_CHG,
    SD_CHG::double as SD_CHG
from statistics
