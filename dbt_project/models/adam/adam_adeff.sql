-- ADaM ADEFF (BDS): marts.adeff's records and values, with ADSL's treatment and population
-- variables and each value's SDTM source (SRCDOM / SRCVAR, and SRCSEQ when one record gives it).
-- Each variable's rule: its description in _adam__models.yml (define.xml's method or comment).
{{ incremental_by_site() }}
with

efficacy as (
    select * from {{ ref('int_efficacy__adeff') }}
    where {{ in_rebuilt_sites() }}
),

subjects as (
    select USUBJID, TRT01P, TRT01A, TRTSDT, SAFFL, EFFFL
    from {{ ref('adam_adsl') }}
    where {{ in_rebuilt_sites() }}
),

-- where SDTM tabulates each parameter's source values, and the DTS column behind it
catalog as (
    select PARAMCD, SRCVAR as DTS_COLUMN, SDTM_DOMAIN, SDTM_VARIABLE
    from {{ ref('parameter_catalog') }}
),

-- each DTS record's number in its site's file, as the SDTM models number them (record_sequence)
sequences as (
    {%- for file in ['echo', 'ct', 'lb', 'fs'] %}
    select '{{ file }}' as DTS_FILE, SITEID, RECID, RECORD_SEQ from ({{ record_sequence(file) }})
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

traced as (
    select
        efficacy.*,
        catalog.SDTM_DOMAIN,
        catalog.SDTM_VARIABLE,
        -- the --SEQ of the one SDTM record behind a single value (NVAL 1; never for a
        -- questionnaire score, made of several QS records): CV numbers each test of a record
        case
            when efficacy.NVAL = 1 and catalog.SDTM_DOMAIN = 'CV'
                then {{ cv_sequence('sequences.RECORD_SEQ', 'efficacy.SRCDOM', 'catalog.DTS_COLUMN') }}
            when efficacy.NVAL = 1 then sequences.RECORD_SEQ
        end as SOURCE_SEQ
    from efficacy
    inner join catalog using (PARAMCD)
    left join sequences
        on sequences.DTS_FILE = efficacy.SRCDOM
        and sequences.SITEID = efficacy.SITEID
        and sequences.RECID = efficacy.SRCRECID
)

select
    traced.STUDYID,
    traced.USUBJID,
    traced.SITEID,
    subjects.TRT01P as TRTP,
    subjects.TRT01A as TRTA,
    subjects.TRTSDT,
    subjects.SAFFL,
    subjects.EFFFL,
    traced.PARAMCD,
    traced.PARAM,
    traced.PARAMN,
    traced.PARAMU,
    traced.ADTM,
    traced.ADT,
    traced.ADY,
    traced.VISIT,
    traced.AVISIT,
    traced.AVISITN,
    traced.AVAL,
    traced.AVALC,
    traced.NVAL,
    traced.BASE,
    traced.CHG,
    traced.PCHG,
    traced.ABLFL,
    traced.ANL01FL,
    traced.PREINFFL,
    traced.BLQFL,
    traced.ALQFL,
    traced.SDTM_DOMAIN as SRCDOM,
    traced.SDTM_VARIABLE as SRCVAR,
    traced.SOURCE_SEQ::integer as SRCSEQ
from traced
-- left: a record of a subject missing from ADSL stays, for the gate to name it
left join subjects using (USUBJID)
{{ record_order() }}
