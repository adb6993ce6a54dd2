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
