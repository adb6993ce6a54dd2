{#- SDTM helpers (models/sdtm/). -#}

{#- --SEQ source: one number per record (SITEID, RECID) of a DTS file, for every record the site
    ever delivered in it (history keeps deleted ones): records in the order the site first
    delivered them, then by RECID. A record keeps its number in every refresh while it exists:
    a correction keeps its RECID and first delivery, a new record comes after every older one,
    a deleted one leaves a gap, and a record moved to another subject keeps its number, which is
    unique within the site and so within any subject. -#}
{% macro record_sequence(file) -%}
    select
        SITEID,
        RECID,
        row_number() over (partition by SITEID order by min(VALID_FROM), RECID) as RECORD_SEQ
    from {{ source('history', file) }}
    where {{ in_rebuilt_sites() }}
    group by SITEID, RECID
{%- endmacro %}

{#- --DY: study day of the ISO date `dtc` (full dates only) against RFSTDTC's date; no day 0. -#}
{% macro study_day(dtc, rfstdtc) -%}
    case
        when length({{ dtc }}) >= 10 and {{ rfstdtc }} is not null then
            (try_cast(left({{ dtc }}, 10) as date) - try_cast(left({{ rfstdtc }}, 10) as date))
            + case when try_cast(left({{ dtc }}, 10) as date) >= try_cast(left({{ rfstdtc }}, 10) as date) then 1 else 0 end
    end
{%- endmacro %}

{#- EPOCH of an observation on ISO date `dtc` (trial design: TE, TA): SCREENING before the
    infusion date, TREATMENT from the infusion date to study day 5 (the infusion and the safety
    days in hospital), FOLLOW-UP after; SCREENING for every date of a subject never infused. NULL
    without a full date. -#}
{% macro epoch_of(dtc, rfxstdtc) -%}
    case
        when try_cast(left({{ dtc }}, 10) as date) is null or length({{ dtc }}) < 10 then null
        when {{ rfxstdtc }} is null then 'SCREENING'
        when try_cast(left({{ dtc }}, 10) as date) < try_cast(left({{ rfxstdtc }}, 10) as date) then 'SCREENING'
        when try_cast(left({{ dtc }}, 10) as date) < try_cast(left({{ rfxstdtc }}, 10) as date) + 5 then 'TREATMENT'
        else 'FOLLOW-UP'
    end
{%- endmacro %}

{#- The CDISC submission value of a collected code in codelist `codelist` (sdtm_terminology):
    the term whose COLLECTED form (or, with none, whose TERM) is the value. -#}
{% macro ct_term(codelist, value) -%}
    (select ct.TERM from {{ ref('sdtm_terminology') }} as ct
     where ct.CODELIST = '{{ codelist }}' and coalesce(ct.COLLECTED, ct.TERM) = {{ value }})
{%- endmacro %}

{#- Findings (SV, LB, CV, FT, RS, QS): the rows of stg_edc__<file> (each site's latest transfer)
    of the subjects in sdtm_dm, with what SDTM tabulates as collected. Staging's typed values are
    NULL where a data issue excludes them, so each DTS column's delivered text comes from the raw
    line staging read (<column>_COLLECTED: trimmed, blank as NULL), with the transfer's decimal
    separator, the subject's STUDYID / RFSTDTC / RFXSTDTC, and RECORD_SEQ (record_sequence). -#}
{% macro collected_records(file) -%}
    select
        staged.*,
        {%- for column in dts_columns(file) if column not in ['RECID', 'SUBJID'] %}
        nullif(trim(delivered.{{ column }}), '') as {{ column }}_COLLECTED,
        {%- endfor %}
        transfers.DECIMAL_SEPARATOR,
        dm.STUDYID,
        dm.RFSTDTC,
        dm.RFXSTDTC,
        sequence.RECORD_SEQ
    from {{ ref('stg_edc__' ~ file) }} as staged
    -- a record of a subject not in dm.csv is not tabulated (it stays a data issue)
    inner join {{ ref('sdtm_dm') }} as dm on dm.USUBJID = staged.USUBJID
    inner join (
        select * from {{ source('raw', file) }}
        where {{ in_rebuilt_sites() }}
            and EXTRACT_ID in (select EXTRACT_ID from {{ ref('stg_edc__latest_transfers') }})
    ) as delivered
        on delivered.SITEID = staged.SITEID
        and delivered.EXTRACT_ID = staged.EXTRACT_ID
        and delivered.SOURCE_LINE = staged.SOURCE_LINE
    inner join {{ ref('stg_edc__latest_transfers') }} as transfers
        on transfers.SITEID = staged.SITEID and transfers.EXTRACT_ID = staged.EXTRACT_ID
    inner join ({{ record_sequence(file) }}) as sequence
        on sequence.SITEID = staged.SITEID and sequence.RECID = staged.RECID
    where {{ in_rebuilt_sites('staged.SITEID') }}
{%- endmacro %}

{#- The measurements CV tabulates: each DTS file with its date column, CVMETHOD and tests, in the
    order of their --SEQ slots (test_sequence: echo LVEF..LVESD 1..5, ct LVEF..LVPW 6..10). -#}
{% macro cv_measurements() -%}
    {{ return([
        {'file': 'echo', 'dtc': 'ECHODTC', 'method': 'TRANSTHORACIC ECHOCARDIOGRAPHY', 'tests': ['LVEF', 'LVEDV', 'LVESV', 'LVEDD', 'LVESD']},
        {'file': 'ct', 'dtc': 'CTDTC', 'method': 'CT SCAN', 'tests': ['LVEF', 'LVEDV', 'LVESV', 'IVS', 'LVPW']},
    ]) }}
{%- endmacro %}

{#- CVSEQ of the measurement `test_column` (a DTS column name) of the DTS record numbered
    `record_seq` in `file_column`'s file (echo or ct): as sdtm_cv numbers it. -#}
{% macro cv_sequence(record_seq, file_column, test_column) -%}
    {%- set slots = [] -%}
    {%- for source in cv_measurements() -%}
        {%- for test in source.tests -%}
            {%- do slots.append((source.file, test)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set cases = [] -%}
    {%- for file, test in slots -%}
        {%- do cases.append("when " ~ file_column ~ " = '" ~ file ~ "' and " ~ test_column ~ " = '" ~ test ~ "' then " ~ loop.index) -%}
    {%- endfor -%}
    {{ test_sequence(record_seq, 'case ' ~ (cases | join(' ')) ~ ' end', slots | length) }}
{%- endmacro %}

{#- --SEQ of a DTS record that yields several rows of one dataset (one echo.csv row: five CV
    tests): (RECORD_SEQ - 1) x `slots` + `slot`, where each test the dataset takes from a file has a
    fixed slot 1..`slots` (CV: echo LVEF..LVESD 1..5, ct LVEF..LVPW 6..10). A record keeps its
    numbers while it exists (its RECORD_SEQ and the slots are fixed): a corrected value keeps its
    --SEQ, a value that appears later takes its slot's number, and a new record's numbers follow
    every older record's, so nothing is renumbered. Files that yield one row per record (lb, qs,
    fs into FT and into RS) use RECORD_SEQ itself. -#}
{% macro test_sequence(record_seq, slot, slots) -%}
    (({{ record_seq }} - 1) * {{ slots }} + {{ slot }})
{%- endmacro %}

{#- --DTC of a delivered date or datetime field: the text as collected when it is an ISO 8601 date
    (YYYY-MM-DD) or datetime (YYYY-MM-DDTHH:MM[:SS]), NULL otherwise (a data issue). -#}
{% macro iso_dtc(column) -%}
    case when coalesce({{ parse_date(column) }}::timestamp, {{ parse_datetime(column) }}) is not null
         then trim({{ column }}) end
{%- endmacro %}

{#- A number as SDTM text (--STRESC): no trailing .0 on a whole number. -#}
{% macro number_text(value) -%}
    case
        when {{ value }} = trunc({{ value }}) and abs({{ value }}) < 1e15 then cast(cast({{ value }} as bigint) as varchar)
        else cast({{ value }} as varchar)
    end
{%- endmacro %}

{#- VISITNUM of a scheduled nominal visit of the DTS VISIT list, in the order of the schedule;
    NULL for UNSCHEDULED (sdtm_sv numbers each unscheduled visit after the scheduled one before it)
    and for a value outside the list. -#}
{% macro scheduled_visitnum(visit) -%}
    case {{ visit }}
        when 'SCREENING' then 1
        when 'BASELINE' then 2
        when 'DAY 1' then 3
        when 'DAY 2' then 4
        when 'DAY 3' then 5
        when 'DAY 4' then 6
        when 'DAY 5' then 7
        when 'MONTH 1' then 8
        when 'MONTH 3' then 9
        when 'MONTH 6' then 10
    end
{%- endmacro %}

{#- The rows of `relation` (findings records with USUBJID, VISIT, DTC) with VISIT_NUMBER and
    VISIT_NAME, the VISITNUM / VISIT SDTM tabulates: a scheduled visit's number
    (scheduled_visitnum); an UNSCHEDULED record takes the VISITNUM of the subject's unscheduled
    sdtm_sv visit on its date (NULL when sv.csv has none that day); a VISIT outside the DTS list is
    a data issue: both NULL. -#}
{% macro with_visit(relation) -%}
    select
        records.*,
        case
            when records.VISIT = 'UNSCHEDULED' then unscheduled.VISITNUM
            else {{ scheduled_visitnum('records.VISIT') }}
        end as VISIT_NUMBER,
        case
            when records.VISIT = 'UNSCHEDULED' or {{ scheduled_visitnum('records.VISIT') }} is not null then records.VISIT
        end as VISIT_NAME
    from {{ relation }} as records
    left join (
        select USUBJID, SVSTDTC, VISITNUM
        from {{ ref('sdtm_sv') }}
        where VISIT = 'UNSCHEDULED' and {{ in_rebuilt_sites('USUBJID') }}
    ) as unscheduled
        on records.VISIT = 'UNSCHEDULED'
        and unscheduled.USUBJID = records.USUBJID
        and unscheduled.SVSTDTC = left(records.DTC, 10)
{%- endmacro %}

{#- The observation at ISO `dtc` was taken before the exposure starting at `rfxstdtc`, as the DTS
    reads pre-infusion (section 4, efficacy_is_pre_infusion): before the infusion date, or on it
    when either has no time or the observation's time is at or before the infusion's. False when
    either date is missing. -#}
{% macro before_exposure(dtc, rfxstdtc) -%}
    coalesce(
        try_cast(left({{ dtc }}, 10) as date) < try_cast(left({{ rfxstdtc }}, 10) as date)
        or (
            try_cast(left({{ dtc }}, 10) as date) = try_cast(left({{ rfxstdtc }}, 10) as date)
            and (
                length({{ dtc }}) < 16 or length({{ rfxstdtc }}) < 16
                or try_cast({{ dtc }} as timestamp) <= try_cast({{ rfxstdtc }} as timestamp)
            )
        ),
        false
    )
{%- endmacro %}

{#- --LOBXFL (SDTMIG 3.4's Last Observation Before Exposure Flag, used instead of --BLFL): Y on the
    one record of each `partition` (subject and test) with a standard result (`result`, the
    --STRESC, not NULL) taken before exposure (before_exposure) that is the latest by --DTC, then
    --SEQ; NULL elsewhere. -#}
{% macro last_before_exposure_flag(partition, result, dtc, rfxstdtc, seq) -%}
    case
        when {{ result }} is not null and {{ before_exposure(dtc, rfxstdtc) }}
            and row_number() over (
                partition by {{ partition }}, ({{ result }} is not null and {{ before_exposure(dtc, rfxstdtc) }})
                order by {{ dtc }} desc, {{ seq }} desc
            ) = 1
        then 'Y'
    end
{%- endmacro %}

{#- The records of a subject dataset in the order the package writes them (package.py _sort_order):
    its keys (config.meta.keys in the yml), then its --SEQ, or without one every other column in
    order; missing values first. A site's rows are inserted in this order, and the package reads
    each site's rows as stored, without sorting them again (published.py stored_parts; the package
    checks the order as it reads). The names are the select's own columns (an ORDER BY name binds
    to the select list first). -#}
{% macro record_order() -%}
    {%- set keys = model.config.meta.get('keys', []) -%}
    {%- set columns = model.columns.keys() | list -%}
    {%- set seq = model.name.split('_')[-1] | upper ~ 'SEQ' -%}
    {%- if seq in columns -%}
        {%- set order = keys + ([] if seq in keys else [seq]) -%}
    {%- else -%}
        {%- set order = keys + (columns | reject('in', keys) | list) -%}
    {%- endif -%}
    order by {% for column in order %}{{ column }} nulls first{{ ', ' if not loop.last }}{% endfor %}
{%- endmacro %}
