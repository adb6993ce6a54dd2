-- One row per adverse event (ae.csv) of each site's latest transfer. AESTDTC stays text (it may be
-- partial: YYYY, YYYY-MM); it is NULL when missing, malformed or breaking a date rule, and those are
-- WARNING issues: an AE is never dropped from the safety analysis for its onset.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_ae(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
