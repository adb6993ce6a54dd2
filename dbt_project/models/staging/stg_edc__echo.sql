-- One row per echocardiogram (echo.csv) of each site's latest transfer: typed under the transfer's
-- decimal separator, rules checked. Values an ERROR issue excludes are NULL here.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_echo(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
