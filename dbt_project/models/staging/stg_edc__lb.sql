-- One row per lab result (lb.csv) of each site's latest transfer. LBSTRESN is the analysed value in
-- the test's analysis unit (lab_units seed): `<x` is analysed as x/2 and `>x` as x, flagged BLQFL /
-- ALQFL; LBORRES keeps the text as delivered.
{{ config(materialized='incremental', pre_hook="{{ unstage_restaged_sites() }}") }}
{{ staged_lb(transfers=transfers_to_stage(), subjects=ref('stg_edc__dm')) }}
