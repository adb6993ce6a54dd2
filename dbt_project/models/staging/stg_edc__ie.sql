-- One row per subject x eligibility criterion (ie.csv) of each site's latest transfer, checked.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_ie(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
