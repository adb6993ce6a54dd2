"""The Dagster code location loads and holds the ingestion and dbt assets and the nightly job."""

import dagster as dg


def test_definitions_load_with_ingestion_dbt_and_nightly_job(dbt_manifest):
    from orchestration.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw/transfer_log", "raw/dm", "raw/ae", "raw/qs"} <= keys
    assert {"staging/stg_edc__echo", "staging/stg_edc__latest_transfers", "marts/extract_log"} <= keys

    job = defs.resolve_job_def("nightly_refresh")
    assert {node.name for node in job.nodes_in_topological_order} == {"ingest_transfers", "regenheart_dbt_models"}

    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["staging", "stg_edc__echo"])).parent_keys}
    assert "raw/echo" in parents, "dbt sources must be the ingestion assets"
