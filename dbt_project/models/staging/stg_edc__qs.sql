-- One row per questionnaire item (qs.csv) of each site's latest transfer. QSSTRESN is the answer as
-- coded on the form (a KCCQ "does not apply" 6 stays 6; scoring treats it as missing), NULL when
-- unanswered (not an issue) or outside the item's valid answers (questionnaire_items seed).
with

source_rows as (
    {{ latest_rows_with_subject('qs') }}
),

parsed as (
    select
        source_rows.*,
        {{ parse_date('QSDTC') }} as QSDT_PARSED,
        {{ parse_number('QSORRES') }} as QSORRES_PARSED,
        items.LOW as ITEM_LOW,
        items.HIGH as ITEM_HIGH,
        items.QSTESTCD is not null as ITEM_KNOWN,
        items.QSCAT = 'SF12' as SCORE_GIVEN
    from source_rows
    left join {{ ref('questionnaire_items') }} as items
        on items.QSCAT = upper(trim(source_rows.QSCAT)) and items.QSTESTCD = upper(trim(source_rows.QSTESTCD))
),

checked as (
    {{ checked_rows('parsed', record_checks() + visit_checks() + date_checks('QSDTC', 'QSDT_PARSED') + [
        check_required('QSCAT'), check_code('QSCAT', 'QSCAT'),
        check_required('QSTESTCD'),
        issue('QSTESTCD', 'code-list', 'not ' ~ is_blank('QSTESTCD') ~ ' and not ITEM_KNOWN'),
        check_parses('QSORRES', 'QSORRES_PARSED', 'not-a-number'),
        issue('QSORRES', 'out-of-range',
        'QSORRES_PARSED < ITEM_LOW or QSORRES_PARSED > ITEM_HIGH or (not SCORE_GIVEN and QSORRES_PARSED <> round(QSORRES_PARSED))'),
    ]) }}
)

select
    {{ staged_record(['RECID', 'SUBJID', 'VISIT', 'QSDTC', 'QSCAT', 'QSTESTCD']) }},
    {{ clean_code('VISIT') }} as VISIT,
    {{ analysable('QSDT_PARSED', 'QSDTC') }} as QSDT,
    {{ analysable(clean_code('QSCAT'), 'QSCAT') }} as QSCAT,
    {{ analysable(clean_code('QSTESTCD'), 'QSTESTCD') }} as QSTESTCD,
    {{ analysable('QSORRES_PARSED', 'QSORRES') }} as QSSTRESN,
    ISSUES
from checked
