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
    -- a test code outside the DTS list is a data issue: no test to tabulate; a record without a
    -- result was not done (for no reason collected): no row
    where records.LBTESTCD is not null and records.LBORRES_COLLECTED is not null
),

results as (
    select
        *,
        -- the numeric result in the standard unit (a limit's number for <x / >x)
        round(RESULT_NUMBER * FACTOR, 9) as STANDARD_NUMBER
    from ({{ with_visit('records') }})
),

standardised as (
    select
        *,
        -- LBSTRESC: the result in the standard unit, its limit qualifier kept (<50 pg/mL -> <50);
        -- the delivered text when it is not a number; NULL for a number in a unit lab_units does
        -- not allow for the test (it cannot be standardised)
        case
            when STANDARD_NUMBER is not null then coalesce(QUALIFIER, '') || {{ number_text('STANDARD_NUMBER') }}
            when RESULT_NUMBER is null then LBORRES_COLLECTED
        end as STANDARD_TEXT
    from results
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
    -- LBORNRLO / LBORNRHI: as delivered, for a numeric result only (SDTMIG: ranges are for
    -- continuous results; a <x / >x result is not a number and has none)
    case when RESULT_NUMBER is not null and QUALIFIER is null then LBORNRLO_COLLECTED end as LBORNRLO,
    case when RESULT_NUMBER is not null and QUALIFIER is null then LBORNRHI_COLLECTED end as LBORNRHI,
    STANDARD_TEXT as LBSTRESC,
    -- LBSTRESN: the numeric result x the lab_units factor to the standard unit; NULL for <x / >x
    -- and for a result that is not a number
    case when QUALIFIER is null then STANDARD_NUMBER end as LBSTRESN,
    -- LBSTRESU: the standard unit as its UNIT term (pg/mL -> ng/L), where LBSTRESC is in it
    case when STANDARD_NUMBER is not null then {{ ct_term('UNIT', 'STANDARD_UNIT') }} end as LBSTRESU,
    -- LBSTNRLO / LBSTNRHI: the delivered reference range x the same factor, where LBSTRESN is
    case when QUALIFIER is null and STANDARD_NUMBER is not null then round({{ parse_number('LBORNRLO_COLLECTED') }} * FACTOR, 9) end as LBSTNRLO,
    case when QUALIFIER is null and STANDARD_NUMBER is not null then round({{ parse_number('LBORNRHI_COLLECTED') }} * FACTOR, 9) end as LBSTNRHI,
    -- LBLOBXFL: Y on the subject's last result of the test with an LBSTRESC before the infusion (macros/sdtm.sql)
    {{ last_before_exposure_flag('USUBJID, LBTESTCD', 'STANDARD_TEXT', 'DTC', 'RFXSTDTC', 'RECORD_SEQ') }} as LBLOBXFL,
    -- VISITNUM / VISIT: the nominal visit the site recorded (UNSCHEDULED: its sdtm_sv visit that day)
    VISIT_NUMBER as VISITNUM,
    VISIT_NAME as VISIT,
    -- EPOCH: of LBDTC
    {{ epoch_of('DTC', 'RFXSTDTC') }} as EPOCH,
    -- LBDTC: the collection date/time as delivered (ISO 8601)
    DTC as LBDTC,
    -- LBDY: study day of LBDTC against RFSTDTC, no day 0
    {{ study_day('DTC', 'RFSTDTC') }} as LBDY
from standardised
{{ record_order() }}
