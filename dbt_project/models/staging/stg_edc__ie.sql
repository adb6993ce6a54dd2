-- One row per subject x eligibility criterion (ie.csv) of each site's latest transfer, checked.
{{ staged_ie(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
