-- One row per infusion (ex.csv) of each site's latest transfer. EXSTDTM is NULL when EXSTDTC carries
-- no time: the date still gives the treatment start date, and a WARNING issue notes it.
{{ staged_ex(transfers=ref('stg_edc__latest_transfers'), subjects=ref('stg_edc__dm')) }}
