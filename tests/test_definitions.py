"""The Dagster code location loads and holds the ingestion and dbt assets and the nightly job."""

import dagster as dg


def test_definitions_load_with_ingestion_dbt_and_nightly_job(dbt_manifest):
    from orchestration.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw/transfer_log", "raw/dm", "raw/ae", "raw/qs"} <= keys
    assert {"staging/stg_edc__echo", "staging/stg_edc__latest_transfers", "marts/extract_log"} <= keys

    job = defs.resolve_job_def("nightly_refresh")
    assert {node.name for node in job.nodes_in_topological_order} >= {
        "ingest_transfers", "historise_transfers", "dbt_staging", "dbt_analysis", "published_warehouse",
        "gx_raw_gate", "gx_history_gate", "gx_staging_gate", "gx_marts_gate",
    }
    assert "published_warehouse" in keys

    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["staging", "stg_edc__echo"])).parent_keys}
    assert "raw/echo" in parents, "dbt sources must be the ingestion assets"
    changes_parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["intermediate", "int_transfer_changes"])).parent_keys}
    assert {"history/echo", "history/ae"} <= changes_parents, "history sources are the history assets"
    history_parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["history", "echo"])).parent_keys}
    assert history_parents == {"raw/echo", "raw/transfer_log"}

    gates = {
        (check_key.asset_key.to_user_string(), check_key.name): spec.blocking
        for check_key, spec in ((spec.key, spec) for checks in defs.asset_checks or [] for spec in checks.check_specs)
    }
    assert gates[("raw/dm", "gx_raw_suite")] and gates[("staging/stg_edc__echo", "gx_staging_suite")]
    assert gates[("marts/adsl", "gx_marts_suite")] and gates[("history/echo", "gx_history_suite")], "every GX gate is blocking"


def test_each_concern_imports_only_itself_and_the_shared_modules():
    """orchestration/defs/<concern>/ stands alone: what concerns share is in defs/shared.py (or the
    other modules at the top of defs/); and nothing in orchestration imports Dagster's internals."""
    import ast
    from pathlib import Path

    import orchestration

    package = Path(orchestration.__file__).parent
    defs = package / "defs"
    concerns = {folder.name for folder in defs.iterdir() if folder.is_dir() and (folder / "__init__.py").exists()}
    assert {"ingest", "history", "dbt", "checks", "publish", "report", "exports", "automation", "submission"} <= concerns

    crossings, internals = [], []
    for path in sorted(package.rglob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
        where = path.relative_to(package)
        internals += [f"{where}: {name}" for name in imported if name == "dagster._core" or name.startswith("dagster._")]
        if path.parent.parent == defs:
            own = path.parent.name
            crossings += [
                f"{where}: {name}" for name in imported
                if name.startswith("orchestration.defs.") and name.split(".")[2] in concerns - {own}
            ]
    assert crossings == [], "a concern imports another concern's module"
    assert internals == [], "an import from Dagster's internals"
