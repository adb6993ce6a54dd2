-- One row per subject (dm.csv) of each site's latest transfer, typed and checked. A SUBJID given
-- twice keeps its first row; the others are excluded as duplicate-subject.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_dm(transfers=transfers_to_stage()) }}
