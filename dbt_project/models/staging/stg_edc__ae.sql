-- One row per adverse event (ae.csv) of each site's latest transfer. AESTDTC stays text (it may be
-- partial: YYYY, YYYY-MM); it is NULL when missing, malformed or breaking a date rule, and those are
-- WARNING issues: an AE is never dropped from the safety analysis for its onset.
{{ staged_ae(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
