-- Questionnaire scores (DTS section 6): one row per subject x questionnaire date (QSDT) x score
-- that can be computed: MLHFQTOT, MLHFQPHY, MLHFQEMO, KCCQPL, KCCQSF, KCCQQL, KCCQSL, KCCQOSS.
-- Item membership, rescaling maximum and not-applicable code come from the questionnaire_items seed.
-- Floating-point sums and means are ordered (`avg(x order by ...)`): a rebuild gives the same bits.
{{ incremental_by_site() }}
with

items as (
    select QSCAT, QSTESTCD, NA_CODE, SCALE_MAX, DOMAIN
    from {{ ref('questionnaire_items') }}
    where QSCAT in ('MLHFQ', 'KCCQ12')
),

-- Items of each score: MLHFQTOT every MLHFQ item; the MLHFQ dimensions and KCCQ domains their DOMAIN's
score_items as (
    select 'MLHFQTOT' as PARAMCD, QSCAT, QSTESTCD from items where QSCAT = 'MLHFQ'
    union all
    select DOMAIN as PARAMCD, QSCAT, QSTESTCD from items where DOMAIN is not null
),

-- How a score combines its items and how many must be answered (NULL: every item of the score)
score_rules as (
    select * from (values
        ('MLHFQTOT', 'SUM', null),
        ('MLHFQPHY', 'SUM', null),
        ('MLHFQEMO', 'SUM', null),
        ('KCCQPL', 'MEAN', 2),
        ('KCCQSF', 'MEAN', 2),
        ('KCCQQL', 'MEAN', 1),
        ('KCCQSL', 'MEAN', 2)
    ) as rules (PARAMCD, METHOD, MIN_ANSWERED)
),

-- N_REQUIRED: answered items a score needs
score_requirements as (
    select
        score_items.PARAMCD,
        score_rules.METHOD,
        coalesce(score_rules.MIN_ANSWERED, count(*))::integer as N_REQUIRED
    from score_items
    inner join score_rules using (PARAMCD)
    group by score_items.PARAMCD, score_rules.METHOD, score_rules.MIN_ANSWERED
),

answers as (
    select qs.SITEID, qs.USUBJID, qs.VISIT, qs.QSDT as ADT, qs.QSCAT, qs.QSTESTCD, qs.QSSTRESN,
           qs.SOURCE_LINE, items.NA_CODE, items.SCALE_MAX
    from {{ ref('stg_edc__qs') }} as qs
    inner join items using (QSCAT, QSTESTCD)
    where not qs.ROW_EXCLUDED
      and qs.QSDT is not null
      and {{ in_rebuilt_sites('qs.SITEID') }}
),

-- ANSWER: the item's answer, missing when unanswered or given the not-applicable code (KCCQ 6)
answer_values as (
    select
        *,
        case when NA_CODE is not null and QSSTRESN = NA_CODE then null else QSSTRESN end as ANSWER
    from answers
),

-- ITEM_VALUE: one value per subject x date x item, the mean of its answers that day (a questionnaire
-- filled in twice on one date); the first answer (lowest SOURCE_LINE) gives the nominal VISIT
item_values as (
    select
        SITEID, USUBJID, ADT, QSCAT, QSTESTCD,
        any_value(SCALE_MAX) as SCALE_MAX,
        avg(ANSWER order by SOURCE_LINE) as ITEM_VALUE,
        min(SOURCE_LINE) as SOURCE_LINE,
        first(VISIT order by SOURCE_LINE) as VISIT
    from answer_values
    group by SITEID, USUBJID, ADT, QSCAT, QSTESTCD
),

-- ITEM_SCORE: KCCQ items rescaled to 0..100 as 100 * (x - 1) / (max - 1); MLHFQ items as answered
item_scores as (
    select
        *,
        case
            when QSCAT = 'KCCQ12' then 100.0 * (ITEM_VALUE - 1) / (SCALE_MAX - 1)
            else ITEM_VALUE
        end as ITEM_SCORE
    from item_values
),

-- Domain scores (MLHFQ total and dimensions: sum; KCCQ domains: mean of the answered items), only
-- when enough of their items are answered
domain_scores as (
    select
        item_scores.SITEID,
        item_scores.USUBJID,
        item_scores.ADT,
        score_items.PARAMCD,
        case score_requirements.METHOD
            when 'SUM' then sum(item_scores.ITEM_SCORE order by item_scores.QSTESTCD)
            else avg(item_scores.ITEM_SCORE order by item_scores.QSTESTCD)
        end as AVAL,
        min(item_scores.SOURCE_LINE) filter (where item_scores.ITEM_SCORE is not null) as SOURCE_LINE,
        first(item_scores.VISIT order by item_scores.SOURCE_LINE)
            filter (where item_scores.ITEM_SCORE is not null) as VISIT
    from item_scores
    inner join score_items using (QSCAT, QSTESTCD)
    inner join score_requirements using (PARAMCD)
    group by item_scores.SITEID, item_scores.USUBJID, item_scores.ADT, score_items.PARAMCD,
             score_requirements.METHOD, score_requirements.N_REQUIRED
    having count(item_scores.ITEM_SCORE) >= score_requirements.N_REQUIRED
),

-- KCCQOSS: mean of the KCCQ domain scores that could be computed (at least one)
overall_summary as (
    select
        SITEID,
        USUBJID,
        ADT,
        'KCCQOSS' as PARAMCD,
        avg(AVAL order by PARAMCD) as AVAL,
        min(SOURCE_LINE) as SOURCE_LINE,
        first(VISIT order by SOURCE_LINE) as VISIT
    from domain_scores
    where PARAMCD in (select DOMAIN from items where QSCAT = 'KCCQ12')
    group by SITEID, USUBJID, ADT
)

select SITEID, USUBJID, PARAMCD, VISIT, ADT, AVAL::double as AVAL, SOURCE_LINE
from domain_scores
union all
select SITEID, USUBJID, PARAMCD, VISIT, ADT, AVAL::double as AVAL, SOURCE_LINE
from overall_summary
