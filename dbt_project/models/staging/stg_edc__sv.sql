-- One row per visit (sv.csv) of each site's latest transfer, checked.
{{ staged_sv(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
