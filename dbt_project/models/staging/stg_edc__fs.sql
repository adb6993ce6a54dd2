-- One row per functional assessment (fs.csv) of each site's latest transfer: NYHA decoded to its
-- class number (I..IV or 1..4 -> 1..4), 6-minute walk typed, rules checked.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_fs(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
