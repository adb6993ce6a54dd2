-- SDTM CV: one row per measurement of an echo.csv echocardiogram or a ct.csv cardiac CT of a
-- subject in DM (an empty measurement was not taken: no row), as collected.
{% set measurements = cv_measurements() %}
{#- where each DTS measurement is (sdtm_terminology's decisions): the left ventricle, except LVEF
    (itself a left-ventricular test), IVS and LVPW -#}
{% set locations = {
    'LVEDV': 'HEART, LEFT VENTRICLE', 'LVESV': 'HEART, LEFT VENTRICLE',
    'LVEDD': 'HEART, LEFT VENTRICLE', 'LVESD': 'HEART, LEFT VENTRICLE',
    'IVS': 'INTERVENTRICULAR SEPTUM', 'LVPW': 'HEART, LEFT VENTRICULAR WALL',
} %}
{{ incremental_by_site('USUBJID') }}
with

{% for source in measurements %}
{{ source.file }}_records as (
    select *, {{ iso_dtc(source.dtc ~ '_COLLECTED') }} as DTC
    from ({{ collected_records(source.file) }})
),

{% endfor %}

-- one row per delivered measurement (SRCDOM its file, SRCVAR its DTS column: CVSEQ's slot)
measured as (
    {%- for source in measurements %}
    {%- set source_loop = loop %}
    {%- for test in source.tests %}
    select
        STUDYID, USUBJID, RFSTDTC, RFXSTDTC, RECORD_SEQ, VISIT, DTC, DECIMAL_SEPARATOR,
        '{{ source.file }}' as SRCDOM,
        '{{ test }}' as SRCVAR,
        {{ test }}_COLLECTED as ORRES,
        '{{ source.method }}' as METHOD,
        {{ "'" ~ locations[test] ~ "'" if test in locations else 'null' }} as LOC,
        {{ "'POSTERIOR'" if test == 'LVPW' else 'null' }} as DIR
    from {{ source.file }}_records
    where {{ test }}_COLLECTED is not null
    {% if not (source_loop.last and loop.last) %}union all{% endif %}
    {%- endfor %}
    {%- endfor %}
),

results as (
    select
        measured.*,
        {{ parse_number('ORRES') }} as NUMBER,
        catalog.PARAMU
    from ({{ with_visit('measured') }}) as measured
    -- the measurement's unit: the parameter catalog's (%, mL, mm)
    left join {{ ref('parameter_catalog') }} as catalog
        on catalog.SRCDOM = measured.SRCDOM and catalog.SRCVAR = measured.SRCVAR
)

select
    STUDYID,
    'CV' as DOMAIN,
    USUBJID,
    -- CVSEQ: (record number in the site's echo.csv / ct.csv - 1) x 10 + the test's slot (echo
    -- LVEF, LVEDV, LVESV, LVEDD, LVESD 1..5; ct LVEF, LVEDV, LVESV, IVS, LVPW 6..10): macros/sdtm.sql cv_sequence
    {{ cv_sequence('RECORD_SEQ', 'SRCDOM', 'SRCVAR') }} as CVSEQ,
    -- CVTESTCD / CVTEST: the DTS column as its CVTESTCD / CVTEST term (LVEDV -> EDV, IVS and LVPW -> THCKEVD)
    {{ ct_term('CVTESTCD', 'SRCVAR') }} as CVTESTCD,
    {{ ct_term('CVTEST', 'SRCVAR') }} as CVTEST,
    -- CVORRES: the measurement as delivered (an implausible value kept)
    ORRES as CVORRES,
    -- CVORRESU / CVSTRESU: the parameter's unit as its UNIT term
    {{ ct_term('UNIT', 'PARAMU') }} as CVORRESU,
    -- CVSTRESC / CVSTRESN: the number read under the transfer's decimal separator (the
    -- implausible kept); NULL CVSTRESN and the delivered text in CVSTRESC when it is not a number
    coalesce({{ number_text('NUMBER') }}, ORRES) as CVSTRESC,
    NUMBER as CVSTRESN,
    {{ ct_term('UNIT', 'PARAMU') }} as CVSTRESU,
    -- CVLOC / CVDIR: where the test measures (sdtm_terminology's decisions; LVPW: POSTERIOR wall)
    LOC as CVLOC,
    DIR as CVDIR,
    -- CVMETHOD: TRANSTHORACIC ECHOCARDIOGRAPHY for echo.csv, CT SCAN for ct.csv
    METHOD as CVMETHOD,
    -- CVLOBXFL: Y on the subject's last measurement of the test (location, method) before the infusion
    {{ last_before_exposure_flag('USUBJID, SRCVAR, METHOD', 'ORRES', 'DTC', 'RFXSTDTC', cv_sequence('RECORD_SEQ', 'SRCDOM', 'SRCVAR')) }} as CVLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of CVDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- CVDTC: the examination date as delivered (ISO 8601)
    DTC as CVDTC,
    -- CVDY: study day of CVDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as CVDY
from results
{{ record_order() }}
