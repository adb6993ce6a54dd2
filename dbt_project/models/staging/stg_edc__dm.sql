-- One row per subject (dm.csv) of each site's latest transfer, typed and checked. A SUBJID given
-- twice keeps its first row; the others are excluded as duplicate-subject.
{{ staged_dm(transfers=ref('stg_edc__latest_transfers')) }}
