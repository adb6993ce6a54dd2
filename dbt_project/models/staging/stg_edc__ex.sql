-- One row per infusion (ex.csv) of each site's latest transfer. EXSTDTM is NULL when EXSTDTC carries
-- no time: the date still gives the treatment start date, and a WARNING issue notes it.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_ex(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
