"""dbt in this process (dbt's dbtRunner): `dbt build` for a Dagster step, its results streamed as
Dagster events (dbt_build), and any dbt command (invoke_dbt, which dbt_build runs; the tests too).

A `dbt` process per step costs more than the step's own work at this study's size: starting Python
and importing dbt, parsing the project, and `dbt --version` for dagster-dbt, every step of every run
(benchmarks/dbt_cost.py). Here the project is parsed once per process and each step builds from a
copy of that parse; dbt's results become the same events dagster-dbt's DbtCliResource would yield
(dagster-dbt converts them), so the assets and checks in the UI are unchanged."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

# dbt's events that carry a node's result (dagster-dbt's DbtCoreCliEventMessage.is_result_event).
_RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_FAILED = frozenset({"error", "fail"})  # a node's RunStatus / TestStatus


class DbtBuildFailed(Exception):
    """dbt ran and some node failed (a model's error, an error-severity test's failure), or dbt
    itself stopped with an error."""


@dataclass(frozen=True)
class _Parse:
    key: tuple
    manifest: object  # dbt.contracts.graph.manifest.Manifest


_parsed: _Parse | None = None
_lock = threading.Lock()


def dbt_build(
    context: dg.AssetExecutionContext,
    args: Sequence[str],
    *,
    project: DbtProject,
    translator: DagsterDbtTranslator,
    target_path: Path,
    database_name: str,
) -> Iterator[dg.Output | dg.AssetCheckResult | dg.AssetObservation]:
    """Run `dbt <args>` and yield each model's Output and each test's AssetCheckResult as dbt
    finishes it; raise DbtBuildFailed after the last when dbt did not succeed."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
    from dbt_common.events.functions import msg_to_dict

    args = [*args, *_selection(context, project, translator)]
    results: queue.Queue = queue.Queue()
    finished = object()
    outcome: dict = {}

    def on_event(message) -> None:
        if message.info.name in _RESULT_EVENTS:
            results.put(msg_to_dict(message))

    def run() -> None:
        try:
            outcome["result"] = invoke_dbt(
                args, project=project, target_path=target_path, database_name=database_name, callbacks=[on_event],
            )
        except BaseException as error:  # handed to the step below, with its traceback
            outcome["error"] = error
        finally:
            results.put(finished)

    # dbt runs in a thread of its own so that each node's event reaches Dagster as dbt finishes it.
    thread = threading.Thread(target=run, name=f"dbt {context.op_def.name}", daemon=True)
    # "Running dbt command:" as dagster-dbt words it (test_incremental_refresh reads the arguments).
    context.log.info(f"Running dbt command: `dbt {' '.join(args)}` in this process; dbt's log: {target_path / 'dbt.log'}")
    thread.start()
    try:
        while (event := results.get()) is not finished:
            yield from DbtCoreCliEventMessage(raw_event=event, event_history_metadata={}).to_default_asset_events(
                manifest=project.manifest_path, dagster_dbt_translator=translator, context=context,
                target_path=target_path, project=project,
            )
    finally:
        # Whatever stops this step, nothing may touch the build database while dbt still writes it.
        thread.join()
    if "error" in outcome:
        raise DbtBuildFailed(f"dbt {args[0]} stopped: {outcome['error']}") from outcome["error"]
    if not outcome["result"].success:
        raise DbtBuildFailed(_failures(args[0], outcome["result"]))


def invoke_dbt(
    args: Sequence[str], *, project: DbtProject, target_path: Path, database_name: str, callbacks: Sequence = (),
):
    """`dbt <args>` in this process, from the project's parse (made once per process): dbt's
    dbtRunnerResult. The profile, and so the build database, is read from the environment."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir),
              "--target-path", str(target_path), "--log-path", str(target_path), "--no-use-colors"]
    manifest = _project_manifest(project, common, database_name)
    try:
        return dbtRunner(manifest=manifest.deepcopy(), callbacks=list(callbacks)).invoke([*args, *common])
    finally:
        # dbt-duckdb keeps the database open after dbt ends (its keep_open): close it, or this
        # process's own connections to the build database fail ("different configuration").
        DuckDBConnectionManager.close_all_connections()


def _selection(context: dg.AssetExecutionContext, project: DbtProject, translator: DagsterDbtTranslator) -> list[str]:
    """The step's dbt selection, or the assets and checks of it a run selected, as DbtCliResource
    computes them."""
    from dagster_dbt.asset_utils import (
        DAGSTER_DBT_EXCLUDE_METADATA_KEY,
        DAGSTER_DBT_SELECT_METADATA_KEY,
        get_subset_selection_for_context,
    )
    from dagster_dbt.dbt_manifest import validate_manifest

    selection, indirect = get_subset_selection_for_context(
        context=context, manifest=validate_manifest(project.manifest_path),
        select=context.op_execution_context.op.tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=context.op_execution_context.op.tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=None, dagster_dbt_translator=translator, current_dbt_indirect_selection_env=None,
    )
    return [*selection, *(["--indirect-selection", indirect] if indirect else [])]


def _failures(command: str, result) -> str:
    """What failed, one line a node (`test not_null_adsl_USUBJID: fail: Got 1 result, ...`)."""
    failed = [node for node in getattr(result.result, "results", None) or [] if str(node.status) in _FAILED]
    if not failed:
        return f"dbt {command} failed: {result.exception or 'see dbt.log'}"
    lines = [f"{node.node.resource_type} {node.node.name}: {node.status}: {' '.join(str(node.message).split())}"
             for node in failed]
    return f"dbt {command} failed ({len(failed)} node(s)):\n" + "\n".join(lines)


def _project_manifest(project: DbtProject, common: list[str], database_name: str):
    """The project parsed once per process (and again when `prepare_dbt_manifest` re-prepared it).

    A node's relation names the database, which dbt-duckdb takes from the build database's file
    name: a parse serves every build database of that name, wherever it is."""
    global _parsed
    from dbt.cli.main import dbtRunner

    key = (str(project.project_dir), project.manifest_path.stat().st_mtime_ns, database_name)
    with _lock:
        if _parsed is None or _parsed.key != key:
            parse = dbtRunner().invoke(["parse", "--quiet", *common])
            if not parse.success:
                raise DbtBuildFailed(f"dbt parse failed: {parse.exception}")
            _parsed = _Parse(key, parse.result)
        return _parsed.manifest
