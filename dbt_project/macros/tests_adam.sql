{#- ADaM gates (models/adam/): the rules ADaMIG 1.3 states that CORE cannot check offline. The
    others (one ADSL record per subject, population flags Y/N, every subject in ADSL, one ABLFL
    record per subject and parameter, CHG = AVAL - BASE) are generic tests in _adam__models.yml. -#}

{#- The variables ADaMIG 1.3 requires of each structure (and this study's analyses need), with
    their SAS type: Char (VARCHAR) or Num (every other DuckDB type: numbers, dates, datetimes). -#}
{% macro adamig_required_variables(structure) -%}
    {%- set required = {
        'ADSL': {'STUDYID': 'Char', 'USUBJID': 'Char', 'SUBJID': 'Char', 'SITEID': 'Char', 'AGE': 'Num',
                 'AGEU': 'Char', 'SEX': 'Char', 'RACE': 'Char', 'ARM': 'Char', 'ACTARM': 'Char',
                 'TRT01P': 'Char', 'TRT01A': 'Char', 'TRTSDT': 'Num', 'TRTEDT': 'Num', 'SAFFL': 'Char'},
        'BDS': {'STUDYID': 'Char', 'USUBJID': 'Char', 'PARAM': 'Char', 'PARAMCD': 'Char', 'AVAL': 'Num',
                'TRTP': 'Char', 'TRTA': 'Char', 'ADT': 'Num', 'AVISIT': 'Char', 'AVISITN': 'Num',
                'BASE': 'Num', 'CHG': 'Num', 'ABLFL': 'Char', 'SRCDOM': 'Char', 'SRCVAR': 'Char', 'SRCSEQ': 'Num'},
        'OCCDS': {'STUDYID': 'Char', 'USUBJID': 'Char', 'AETERM': 'Char', 'AEDECOD': 'Char', 'AEBODSYS': 'Char',
                  'TRTA': 'Char', 'ASTDT': 'Num', 'SRCDOM': 'Char', 'SRCVAR': 'Char', 'SRCSEQ': 'Num'},
    } -%}
    {{ return(required[structure]) }}
{%- endmacro %}

{#- Each variable `structure` requires that the model lacks or holds with the other type. -#}
{% test has_adamig_variables(model, structure) %}
    with required (NAME, SAS_TYPE) as (
        values
        {%- for name, sas_type in adamig_required_variables(structure).items() %}
        ('{{ name }}', '{{ sas_type }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ),

    present as (
        select
            column_name as NAME,
            case when data_type = 'VARCHAR' then 'Char' else 'Num' end as SAS_TYPE
        from information_schema.columns
        where table_catalog = '{{ model.database }}'
          and table_schema = '{{ model.schema }}'
          and table_name = '{{ model.identifier }}'
    )

    select required.NAME, required.SAS_TYPE as REQUIRED_TYPE, present.SAS_TYPE as FOUND_TYPE
    from required
    left join present using (NAME)
    where present.SAS_TYPE is distinct from required.SAS_TYPE
{% endtest %}

{#- Records whose SRCSEQ names no record of SRCDOM (an SDTM dataset) for the same subject: the
    dataset's --SEQ, among `datasets` (the SDTM datasets an ADaM dataset can trace to). -#}
{% test source_record_exists(model, datasets) %}
    with tabulated as (
        {%- for dataset in datasets %}
        select '{{ dataset | upper }}' as SRCDOM, USUBJID, {{ dataset | upper }}SEQ as SRCSEQ
        from {{ ref('sdtm_' ~ dataset | lower) }}
        {{ 'union all' if not loop.last }}
        {%- endfor %}
    )

    select analysed.USUBJID, analysed.SRCDOM, analysed.SRCSEQ
    from {{ model }} as analysed
    where analysed.SRCSEQ is not null
      and not exists (
          select 1 from tabulated
          where tabulated.SRCDOM = analysed.SRCDOM
            and tabulated.USUBJID = analysed.USUBJID
            and tabulated.SRCSEQ = analysed.SRCSEQ
      )
{% endtest %}
