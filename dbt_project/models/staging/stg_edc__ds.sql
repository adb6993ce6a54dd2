-- One row per disposition event (ds.csv) of each site's latest transfer, checked.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_ds(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
