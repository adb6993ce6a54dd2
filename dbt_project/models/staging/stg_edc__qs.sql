-- One row per questionnaire item (qs.csv) of each site's latest transfer. QSSTRESN is the answer as
-- coded on the form (a KCCQ "does not apply" 6 stays 6; scoring treats it as missing), NULL when
-- unanswered (not an issue) or outside the item's valid answers (questionnaire_items seed).
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_qs(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
