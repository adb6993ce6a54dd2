-- One row per visit (sv.csv) of each site's latest transfer, checked.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_sv(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
