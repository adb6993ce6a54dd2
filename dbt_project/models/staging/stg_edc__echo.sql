-- One row per echocardiogram (echo.csv) of each site's latest transfer: typed under the transfer's
-- decimal separator, rules checked. Values an ERROR issue excludes are NULL here.
{{ staged_echo(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
