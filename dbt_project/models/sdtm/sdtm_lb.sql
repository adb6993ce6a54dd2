-- SDTM LB: one row per lb.csv result of a subject in DM whose test is one of the DTS list, as
-- collected, with the standard result in the unit the warehouse analyses it in (lab_units seed).
{{ incremental_by_site('USUBJID') }}
with

records as (
    select
        records.*,
        {{ iso_dtc('LBDTC_COLLECTED') }} as DTC,
        -- the result's limit qualifier (<, >) and number, read under the transfer's decimal separator
        nullif(regexp_extract(LBORRES_COLLECTED, '^([<>])', 1), '') as QUALIFIER,
        {{ parse_number("regexp_replace(LBORRES_COLLECTED, '^[<>]\\s*', '')") }} as RESULT_NUMBER,
        units.LBORRESU as DELIVERED_UNIT,
        units.FACTOR,
        units.LBSTRESU as STANDARD_UNIT
    from ({{ collected_records('lb') }}) as records
    -- the unit the warehouse analyses the test in and the factor to it (pmol/L x 8.457 for NT-proBNP)
    left join {{ ref('lab_units') }} as units
        on units.LBTESTCD = records.LBTESTCD and lower(units.LBORRESU) = lower(records.LBORRESU_COLLECTED)
    -- a test code outside the DTS list is a data issue: no test to tabulate
    where records.LBTESTCD is not null
),

results as (
    select
        *,
        -- the numeric result in the standard unit (a limit's number for <x / >x)
        round(RESULT_NUMBER * FACTOR, 9) as STANDARD_NUMBER
    from ({{ with_visit('records') }})
)

select
    STUDYID,
    'LB' as DOMAIN,
    USUBJID,
    -- LBSEQ: the record's number in the site's lb.csv (macros/sdtm.sql record_sequence)
    RECORD_SEQ as LBSEQ,
    -- LBTESTCD / LBTEST: the delivered test code as its LBTESTCD / LBTEST term (NTPROBNP -> BNPPRONT)
    {{ ct_term('LBTESTCD', 'LBTESTCD') }} as LBTESTCD,
    {{ ct_term('LBTEST', 'LBTESTCD') }} as LBTEST,
    -- LBORRES: the result as delivered (<50 stays <50)
    LBORRES_COLLECTED as LBORRES,
    -- LBORRESU: the delivered unit as its UNIT term (pg/mL -> ng/L, ng/mL -> ug/L); NULL when the
    -- unit is not one lab_units allows for the test (a data issue)
    {{ ct_term('UNIT', 'DELIVERED_UNIT') }} as LBORRESU,
    LBORNRLO_COLLECTED as LBORNRLO,
    LBORNRHI_COLLECTED as LBORNRHI,
    -- LBSTRESC: the result in the standard unit, its limit qualifier kept (<50 pg/mL -> <50); the
    -- delivered text when it is no number in a known unit
    case
        when STANDARD_NUMBER is not null then coalesce(QUALIFIER, '') || {{ number_text('STANDARD_NUMBER') }}
        else LBORRES_COLLECTED
    end as LBSTRESC,
    -- LBSTRESN: the numeric result x the lab_units factor to the standard unit; NULL for <x / >x
    -- and for a result that is not a number
    case when QUALIFIER is null then STANDARD_NUMBER end as LBSTRESN,
    -- LBSTRESU: the standard unit as its UNIT term (pg/mL -> ng/L), where LBSTRESC is in it
    case when STANDARD_NUMBER is not null then {{ ct_term('UNIT', 'STANDARD_UNIT') }} end as LBSTRESU,
    -- LBSTNRLO / LBSTNRHI: the delivered reference range x the same factor
    round({{ parse_number('LBORNRLO_COLLECTED') }} * FACTOR, 9) as LBSTNRLO,
    round({{ parse_number('LBORNRHI_COLLECTED') }} * FACTOR, 9) as LBSTNRHI,
    -- LBSTAT: NOT DONE for a record without a result
    case when LBORRES_COLLECTED is null then 'NOT DONE' end as LBSTAT,
    -- LBLOBXFL: Y on the subject's last result of the test before the infusion (macros/sdtm.sql)
    {{ last_before_exposure_flag('USUBJID, LBTESTCD', 'LBORRES_COLLECTED', 'DTC', 'RFXSTDTC', 'RECORD_SEQ') }} as LBLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of LBDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- LBDTC: the collection date/time as delivered (ISO 8601)
    DTC as LBDTC,
    -- LBDY: study day of LBDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as LBDY
from results
order by USUBJID, LBSEQ
