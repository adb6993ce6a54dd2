{#- Generic data tests of the safety models (no dbt_utils here). Each returns the offending rows. -#}

{#- AEs of SAFFL subjects in staging that adae does not hold (an AE is never dropped). With
    include_excluded, rows staging marks ROW_EXCLUDED are expected too (run as a warning: such a row
    is an AE of an infused subject that the safety analysis does not see). -#}
{% test safety_every_ae_kept(model, adverse_events, subjects, include_excluded=false) %}
    select staged.USUBJID, staged.RECID, staged.ROW_EXCLUDED
    from {{ adverse_events }} as staged
    inner join {{ subjects }} as subjects
        on subjects.USUBJID = staged.USUBJID and subjects.SAFFL = 'Y'
    where {{ 'true' if include_excluded else 'not staged.ROW_EXCLUDED' }}
        and not exists (
            select 1 from {{ model }} as kept
            where kept.USUBJID = staged.USUBJID and kept.SRCRECID is not distinct from staged.RECID
        )
{% endtest %}

{#- safety_summary agrees with its records: the ANY row of each period counts the flagged adae
    records, SOC rows add up to it, PT rows add up to their SOC, and subset counts stay in range. -#}
{% test safety_summary_consistent(model, adae) %}
    with

    flagged as (
        select 'PRIMARY WINDOW' as PERIOD, USUBJID from {{ adae }} where PRIMWFL = 'Y'
        union all
        select 'OVERALL' as PERIOD, USUBJID from {{ adae }} where TRTEMFL = 'Y'
    ),

    expected_any as (
        select
            periods.PERIOD,
            count(distinct flagged.USUBJID) as N_SUBJ,
            count(flagged.USUBJID) as N_EVENTS
        from (values ('PRIMARY WINDOW'), ('OVERALL')) as periods (PERIOD)
        left join flagged using (PERIOD)
        group by periods.PERIOD
    ),

    any_rows as (
        select * from {{ model }} where LEVEL = 'ANY'
    ),

    soc_totals as (
        select PERIOD, sum(N_EVENTS) as N_EVENTS, max(N_SUBJ) as MAX_N_SUBJ
        from {{ model }} where LEVEL = 'SOC' group by PERIOD
    ),

    pt_by_soc as (
        select PERIOD, AEBODSYS, sum(N_EVENTS) as N_EVENTS, max(N_SUBJ) as MAX_N_SUBJ
        from {{ model }} where LEVEL = 'PT' group by PERIOD, AEBODSYS
    ),

    soc_rows as (
        select * from {{ model }} where LEVEL = 'SOC'
    )

    select 'ANY row missing, doubled or miscounted' as PROBLEM, expected_any.PERIOD, null as AEBODSYS
    from expected_any
    left join any_rows using (PERIOD)
    group by expected_any.PERIOD, expected_any.N_SUBJ, expected_any.N_EVENTS
    having count(any_rows.PERIOD) <> 1
        or max(any_rows.N_SUBJ) <> expected_any.N_SUBJ
        or max(any_rows.N_EVENTS) <> expected_any.N_EVENTS

    union all
    select 'SOC events do not add up to ANY', any_rows.PERIOD, null
    from any_rows
    left join soc_totals using (PERIOD)
    where coalesce(soc_totals.N_EVENTS, 0) <> any_rows.N_EVENTS
        or coalesce(soc_totals.MAX_N_SUBJ, 0) > any_rows.N_SUBJ

    union all
    select 'PT events do not add up to their SOC', soc_rows.PERIOD, soc_rows.AEBODSYS
    from soc_rows
    full join pt_by_soc
        on pt_by_soc.PERIOD = soc_rows.PERIOD
        and pt_by_soc.AEBODSYS is not distinct from soc_rows.AEBODSYS
    where soc_rows.PERIOD is null
        or pt_by_soc.PERIOD is null
        or pt_by_soc.N_EVENTS <> soc_rows.N_EVENTS
        or pt_by_soc.MAX_N_SUBJ > soc_rows.N_SUBJ

    union all
    select 'counts out of range', PERIOD, AEBODSYS
    from {{ model }}
    where N_SUBJ > N_EVENTS
        or greatest(N_SUBJ_SERIOUS, N_SUBJ_RELATED, N_SUBJ_SEVERE) > N_SUBJ
        or least(N_SUBJ, N_EVENTS, N_SUBJ_SERIOUS, N_SUBJ_RELATED, N_SUBJ_SEVERE) < 0
        or (N_SUBJ = 0) <> (N_EVENTS = 0)
        or PCT_SUBJ < 0 or PCT_SUBJ > 100
{% endtest %}
