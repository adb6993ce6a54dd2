-- One row per functional assessment (fs.csv) of each site's latest transfer: NYHA decoded to its
-- class number (I..IV or 1..4 -> 1..4), 6-minute walk typed, rules checked.
with

source_rows as (
    {{ latest_rows_with_subject('fs') }}
),

parsed as (
    select
        source_rows.*,
        {{ parse_date('FSDTC') }} as FSDT_PARSED,
        nyha_code.DECODE::integer as NYHA_PARSED,
        {{ parse_number('SMWD') }} as SMWD_PARSED
    from source_rows
    left join {{ ref('code_lists') }} as nyha_code
        on nyha_code.LIST_NAME = 'NYHA' and nyha_code.CODE = upper(trim(source_rows.NYHA))
),

checked as (
    {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('FSDTC', 'FSDT_PARSED') + [
        check_code('NYHA', 'NYHA'),
        check_parses('SMWD', 'SMWD_PARSED', 'not-a-number'), check_catalog_range('SMWD', 'SMWD_PARSED', 'fs'),
    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'FSDTC']) }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ analysable('FSDT_PARSED', 'FSDTC') }} as FSDT,
    {{ analysable('NYHA_PARSED', 'NYHA') }} as NYHA,
    {{ analysable('SMWD_PARSED', 'SMWD') }} as SMWD,
    ISSUES
from checked
