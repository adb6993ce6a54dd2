"""`regenheart refresh`: the nightly job's work, in this process, through Dagster."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Callable

import duckdb

from orchestration.build_state import published_build, what_is_new
from orchestration.ingestion.landing_changes import unrecorded_landing_changes
from orchestration.ingestion.transfers import find_complete_transfers
from orchestration.publishing import build_database_path
from orchestration.refresh_lock import hold_refresh_lock
from orchestration.settings import Settings
from orchestration.warehouse import RAW_SCHEMA, connect


@dataclass
class RefreshOutcome:
    rejected: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    # The published file was replaced during the run: a step after publication (the study report,
    # the exports) may still have failed.
    published: bool = False


def nothing_new(settings: Settings) -> bool:
    """True when a refresh would stop after ingestion (build_state.what_is_new finds nothing new:
    every complete transfer in the landing folder is one the published file was built from, none
    of them changed since in a way not yet recorded, by this code, and the study report and the
    exports were written from it). Asked before Dagster and dbt are imported: those imports and a
    run that skips every step cost seconds, this a few milliseconds. When in doubt (no build
    database yet, a refresh writing it) the answer is False and the run decides."""
    build = build_database_path(settings.warehouse)
    if not build.exists() or not settings.warehouse.exists():
        return False
    try:
        con = connect(build, read_only=True)
    except duckdb.Error:
        return False
    try:
        landed = find_complete_transfers(settings.landing_dir)
        published = published_build(con, settings.warehouse)
        return not what_is_new(landed, published, unrecorded_landing_changes(con, landed))
    except duckdb.Error:
        return False
    finally:
        con.close()


def run_refresh(
    settings: Settings,
    say: Callable[[str], None],
    rebuild_history: bool = False,
    rebuild: bool = False,
    lock_wait_seconds: float = 0,
) -> RefreshOutcome:
    """Run `nightly_refresh` in this process, holding the warehouse's refresh lock throughout.

    The CLI takes the lock before it; a caller that does not waits up to `lock_wait_seconds`
    (RefreshLockBusy when that runs out)."""
    with hold_refresh_lock(settings.warehouse, lock_wait_seconds, say=lambda line: say(f"refresh: {line}")):
        return _run_refresh(settings, say, rebuild_history=rebuild_history, rebuild=rebuild)


def _run_refresh(settings: Settings, say: Callable[[str], None], rebuild_history: bool, rebuild: bool) -> RefreshOutcome:
    say(f"refresh: landing {settings.landing_dir}, warehouse {settings.warehouse}")
    say("refresh: preparing the dbt manifest")
    from orchestration.defs.dbt_project import prepare_dbt_manifest

    prepare_dbt_manifest()
    from orchestration.definitions import defs
    from orchestration.defs.progress_logger import step_failure_cause
    from orchestration.defs.resources import WarehouseResource

    build = build_database_path(settings.warehouse)
    seen_before = _transfer_log_keys(build)
    published_before = _file_identity(settings.warehouse)
    job = defs.resolve_job_def("nightly_refresh")
    tool_log = settings.warehouse.parent / "logs" / "refresh-tools.log"
    tool_log.parent.mkdir(parents=True, exist_ok=True)
    say(f"refresh: dbt's own output goes to {tool_log}")
    # dbt writes its progress lines on stdout; keep the terminal to one line per step.
    # The instance is disposed of here, in this thread: dbt runs in a thread of its own (defs/dbt),
    # and an instance left to the garbage collector may be collected there, where SQLite refuses it.
    with tool_log.open("w", encoding="utf-8") as log_file, contextlib.redirect_stdout(log_file), _instance() as instance:
        result = job.execute_in_process(
            run_config={
                "loggers": {"progress": {}},
                "ops": {
                    "ingest_transfers": {"config": {"rebuild": rebuild or rebuild_history}},
                    "historise_transfers": {"config": {"rebuild": rebuild_history}},
                },
            },
            instance=instance,
            raise_on_error=False,
            resources={"warehouse": WarehouseResource.from_settings(settings)},
        )
    outcome = RefreshOutcome(
        rejected=_new_rejections(build, seen_before),
        published=_file_identity(settings.warehouse) not in (None, published_before),
    )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            outcome.failed_steps.append(event.step_key)
            outcome.failures.append(f"{event.step_key}: {step_failure_cause(event.step_failure_data.error)}")
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            outcome.failures += _failed_check_lines(event.event_specific_data)
    if not result.success and not outcome.failures:
        outcome.failures.append("the run did not succeed")
    return outcome


def _file_identity(path) -> tuple[int, int] | None:
    """Changes when publishing renames a new file over the published one."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _failed_check_lines(evaluation) -> list[str]:
    from dagster import AssetCheckSeverity

    if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
        return []
    failures = evaluation.metadata.get("failures")
    detail = f":\n{failures.value}" if failures is not None else ""
    return [f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed{detail}"]


def _instance():
    from dagster import DagsterInstance

    # With DAGSTER_HOME set (as `make dev` does) CLI runs show in the UI's run history.
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _transfer_log_keys(build) -> set[tuple[str, str]]:
    from orchestration.ingestion import seen_transfers

    con = connect(build)
    try:
        return seen_transfers(con)
    finally:
        con.close()


def _new_rejections(build, seen_before: set[tuple[str, str]]) -> list[str]:
    con = connect(build, read_only=True)
    try:
        rows = con.execute(
            f"SELECT SITEID, EXTRACT_ID, REASON FROM {RAW_SCHEMA}.transfer_log WHERE STATUS = 'REJECTED' ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    return [reason for site, extract, reason in rows if (site, extract) not in seen_before]
