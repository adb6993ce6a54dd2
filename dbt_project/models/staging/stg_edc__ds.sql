-- One row per disposition event (ds.csv) of each site's latest transfer, checked.
{{ staged_ds(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
