-- One row per subject with a usable infusion record: the treatment start (a subject here is SAFFL).
select
    'NCT04325594' as STUDYID,
    SITEID,
    SUBJID,
    USUBJID,
    -- TRTSDTM: EXSTDTC with its time; NULL when the infusion was recorded without a time
    EXSTDTM as TRTSDTM,
    -- TRTSDT: the infusion date (the earliest, should a subject have several infusion rows)
    EXSTDT as TRTSDT
from {{ ref('stg_edc__ex') }}
where not ROW_EXCLUDED and EXSTDT is not null
qualify row_number() over (partition by USUBJID order by EXSTDT, EXSTDTM nulls last, SOURCE_LINE) = 1
