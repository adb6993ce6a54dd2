-- One row per cardiac CT (ct.csv) of each site's latest transfer: typed under the transfer's
-- decimal separator, rules checked. Values an ERROR issue excludes are NULL here.
{{ staged_ct(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
