-- One row per functional assessment (fs.csv) of each site's latest transfer: NYHA decoded to its
-- class number (I..IV or 1..4 -> 1..4), 6-minute walk typed, rules checked.
{{ staged_fs(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
