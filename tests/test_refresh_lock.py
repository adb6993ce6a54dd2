"""One refresh at a time: the refresh lock itself, the CLI's --wait and exit 4, two real refreshes
started together, Dagster runs and the sensor, and what a failed step prints (its real exception)."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import processes
import pytest
from conftest import REPO_ROOT, SAMPLE_LANDING, copy_of_warehouse, run_refresh
from processes import process_group
from transfer_factory import write_transfer

from orchestration import refresh_lock
from orchestration.defs.automation.sensors import SENSOR_NAME, new_transfer_sensor
from orchestration.defs.progress_logger import progress_logger, step_failure_cause
from orchestration.defs.resources import WarehouseResource
from orchestration.refresh_lock import (
    RefreshLockBusy,
    hold_refresh_lock,
    holds_refresh_lock,
    read_lock_holder,
    refresh_lock_path,
)

EXIT_BUSY = 4

# Holds the lock until its stdin closes (or it is killed); says "held <pid>" once it holds it.
_HOLD = """
import os, sys
from pathlib import Path
from orchestration.refresh_lock import hold_refresh_lock
with hold_refresh_lock(Path(sys.argv[1]), 0, print):
    print("held", os.getpid(), flush=True)
    sys.stdin.read()
"""

# Tries the lock once: prints "got" or "busy".
_TRY = """
import sys
from pathlib import Path
from orchestration.refresh_lock import RefreshLockBusy, hold_refresh_lock
try:
    with hold_refresh_lock(Path(sys.argv[1]), 0, print):
        print("got")
except RefreshLockBusy:
    print("busy")
"""


def _held_by_another_process(warehouse: Path):
    """A process holding the warehouse's refresh lock until the block ends (see _wait_until_held)."""
    return process_group(
        [sys.executable, "-c", _HOLD, str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    )


def _wait_until_held(holder: subprocess.Popen) -> int:
    word, pid = holder.stdout.readline().split()
    assert word == "held"
    return int(pid)


def _another_process_gets_it(warehouse: Path) -> bool:
    result = processes.run([sys.executable, "-c", _TRY, str(warehouse)], timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() == "got"


def _refresh_env(landing: Path, warehouse: Path) -> dict[str, str]:
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    return env


def _refresh_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "orchestration.cli", "refresh", *options]


class _Lines:
    """Reads a stream line by line in a thread (a full pipe would stall the process writing it)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self._thread.is_alive(), f"no {text!r} in:\n{''.join(self.lines)}"
                self._changed.wait(min(remaining, 1))

    def finish(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


# --- the lock ------------------------------------------------------------------------------------


def test_the_lock_file_sits_beside_the_warehouse_and_names_its_holder(tmp_path):
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert refresh_lock_path(warehouse) == tmp_path / "data" / "warehouse.refresh.lock"
    with hold_refresh_lock(warehouse, 0, print):
        holder = read_lock_holder(refresh_lock_path(warehouse))
        assert (holder.pid, holder.host) == (os.getpid(), os.uname().nodename)
        assert holder.since.endswith(" UTC") and len(holder.since) == len("2026-12-05 09:00:00 UTC")
    assert refresh_lock_path(warehouse).is_file(), "the lock file is never deleted"
    assert not holds_refresh_lock(warehouse)


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with hold_refresh_lock(warehouse, 0, print):
        with hold_refresh_lock(warehouse, 0, print):
            assert holds_refresh_lock(warehouse)
        assert holds_refresh_lock(warehouse), "the inner release only counts down"
        assert not _another_process_gets_it(warehouse)
    assert not holds_refresh_lock(warehouse)
    assert _another_process_gets_it(warehouse), "the last release unlocks"


def test_a_lock_held_by_another_process_makes_the_wait_run_out_naming_it(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    said = []
    with _held_by_another_process(warehouse) as holder:
        pid = _wait_until_held(holder)
        started = time.monotonic()
        with pytest.raises(RefreshLockBusy) as busy:
            with hold_refresh_lock(warehouse, wait_seconds=1, say=said.append):
                pytest.fail("the lock was taken while another process held it")
        waited = time.monotonic() - started
    assert 0.9 <= waited < 5
    assert busy.value.holder.pid == pid
    assert f"another refresh holds the warehouse (pid {pid} on " in str(busy.value)
    assert "gave up after waiting 1 s" in str(busy.value)
    assert len(said) == 1 and said[0].startswith(f"another refresh holds the warehouse (pid {pid} on ")
    assert said[0].endswith("waiting up to 1 s (--wait)")
    assert not holds_refresh_lock(warehouse)


def test_a_long_wait_says_so_regularly(tmp_path, monkeypatch):
    monkeypatch.setattr(refresh_lock, "PROGRESS_EVERY_SECONDS", 1)
    warehouse = tmp_path / "warehouse.duckdb"
    said = []
    with _held_by_another_process(warehouse) as holder:
        pid = _wait_until_held(holder)
        with pytest.raises(RefreshLockBusy):
            with hold_refresh_lock(warehouse, wait_seconds=3, say=said.append):
                pass
    assert said[0].endswith("waiting up to 3 s (--wait)")
    progress = said[1:]
    assert 1 <= len(progress) <= 3, said
    assert all(line.startswith(f"still waiting for the other refresh (pid {pid} on ") for line in progress)
    assert progress[0].endswith(" s of 3 s")


def test_the_lock_is_released_when_its_holder_exits_even_killed(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    for how in (None, signal.SIGKILL):
        with _held_by_another_process(warehouse) as holder:
            _wait_until_held(holder)
            assert not _another_process_gets_it(warehouse)
            if how is None:
                holder.stdin.close()
            else:
                os.killpg(holder.pid, how)
            holder.wait(timeout=30)
            assert _another_process_gets_it(warehouse), f"still held after the holder ended ({how or 'normally'})"


# --- the CLI -------------------------------------------------------------------------------------


def test_the_cli_exits_4_while_another_refresh_holds_the_warehouse_then_runs(sample_warehouse, tmp_path):
    warehouse = copy_of_warehouse(sample_warehouse, tmp_path / "copy")
    env = _refresh_env(SAMPLE_LANDING, warehouse)
    with _held_by_another_process(warehouse) as holder:
        pid = _wait_until_held(holder)
        since = read_lock_holder(refresh_lock_path(warehouse)).since

        at_once = processes.run(_refresh_command("--wait", "0"), env=env, timeout=120, cwd=REPO_ROOT)
        assert at_once.returncode == EXIT_BUSY, at_once.stderr
        assert at_once.stderr.splitlines() == [
            f"refresh: another refresh holds the warehouse (pid {pid} on {os.uname().nodename}, since {since}); "
            "not waiting (--wait 0); nothing was done: run it again later, or wait longer with --wait SECONDS"
        ]
        assert at_once.stdout == ""

        started = time.monotonic()
        waiting = processes.run(_refresh_command("--wait", "3"), env=env, timeout=120, cwd=REPO_ROOT)
        waited = time.monotonic() - started
        assert waiting.returncode == EXIT_BUSY, waiting.stderr
        assert 3 <= waited < 15
        first, last = waiting.stderr.splitlines()
        assert first == (
            f"refresh: another refresh holds the warehouse (pid {pid} on {os.uname().nodename}, since {since}); "
            "waiting up to 3 s (--wait)"
        )
        assert last.startswith(f"refresh: another refresh holds the warehouse (pid {pid} on ")
        assert last.endswith("; gave up after waiting 3 s; nothing was done: run it again later, or wait longer with --wait SECONDS")
        assert "Traceback" not in at_once.stderr + waiting.stderr

    result = run_refresh(SAMPLE_LANDING, warehouse, "--wait", "0")
    assert result.returncode == 0, result.stderr
    assert "nothing new since the last publication" in result.stderr, result.stderr
    assert "another refresh" not in result.stderr


def test_a_negative_wait_is_wrong_usage(tmp_path):
    result = run_refresh(tmp_path, tmp_path / "warehouse.duckdb", "--wait", "-1")
    assert result.returncode == 2
    assert "--wait: must be 0 or more" in result.stderr


@pytest.mark.e2e
def test_two_refreshes_at_once_the_second_waits_then_finds_nothing_new(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_transfer(landing, "KZ97")
    env = _refresh_env(landing, warehouse)
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    with process_group(_refresh_command(), **pipes) as first:
        first_err, first_out = _Lines(first.stderr), _Lines(first.stdout)
        first_err.wait_for("ingest_transfers: started", timeout=120)
        with process_group(_refresh_command(), **pipes) as second:
            second_err, second_out = _Lines(second.stderr), _Lines(second.stdout)
            waiting = second_err.wait_for("waiting up to", timeout=60)
            assert waiting.strip().startswith(f"refresh: another refresh holds the warehouse (pid {first.pid} on ")
            assert waiting.strip().endswith("waiting up to 3600 s (--wait)")

            assert first.wait(timeout=300) == 0, first_err.finish()
            assert second.wait(timeout=120) == 0, second_err.finish()
    first_text, second_text = first_err.finish(), second_err.finish()
    assert "published_warehouse: done" in first_text
    assert "nothing new since the last publication" in second_text, second_text
    assert "ingest_transfers: started" not in second_text, "the second refresh found the first one's work done"
    assert "Traceback" not in first_text + second_text
    assert f"Warehouse: {warehouse}" in first_out.finish() and f"Warehouse: {warehouse}" in second_out.finish()


# --- Dagster runs and the sensor -----------------------------------------------------------------


@dg.op
def opens_the_build_database_twice(warehouse: WarehouseResource) -> bool:
    for _ in range(2):
        with warehouse.connection() as con:
            con.execute("CREATE TABLE IF NOT EXISTS touched AS SELECT 1 AS one")
    return holds_refresh_lock(warehouse.published_path)


@dg.job
def opens_the_build_database_job():
    opens_the_build_database_twice()


def _run_with_lock_wait(warehouse: Path, lock_wait_seconds: int):
    resource = WarehouseResource(
        landing_dir=str(warehouse.parent), warehouse_path=str(warehouse), lock_wait_seconds=lock_wait_seconds
    )
    return opens_the_build_database_job.execute_in_process(resources={"warehouse": resource}, raise_on_error=False)


def test_a_dagster_run_holds_the_lock_for_the_run_and_releases_it_at_its_end(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    result = _run_with_lock_wait(warehouse, 0)
    assert result.success
    assert result.output_for_node("opens_the_build_database_twice") is True, "held inside the run"
    assert not holds_refresh_lock(warehouse), "released at the run's end"
    assert _another_process_gets_it(warehouse)


def test_a_dagster_run_inside_a_refresh_that_holds_the_lock_just_proceeds(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with hold_refresh_lock(warehouse, 0, print):
        assert _run_with_lock_wait(warehouse, 0).success
        assert holds_refresh_lock(warehouse), "the run's release leaves the outer hold"
    assert not holds_refresh_lock(warehouse)


def test_a_dagster_run_fails_its_step_naming_the_holder_when_the_wait_runs_out(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with _held_by_another_process(warehouse) as holder:
        pid = _wait_until_held(holder)
        started = time.monotonic()
        result = _run_with_lock_wait(warehouse, 1)
        assert time.monotonic() - started < 30
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    cause = step_failure_cause(failure.step_failure_data.error)
    assert cause.startswith(f"Failure: another refresh holds the warehouse (pid {pid} on "), cause
    assert "gave up after waiting 1 s; the step did not start" in cause
    assert not (tmp_path / "warehouse.build.duckdb").exists()
    assert not holds_refresh_lock(warehouse)


def test_the_sensor_never_takes_the_lock(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_transfer(landing, "KZ97")
    with _held_by_another_process(warehouse) as holder, dg.instance_for_test() as instance:
        _wait_until_held(holder)
        resource = WarehouseResource(landing_dir=str(landing), warehouse_path=str(warehouse), lock_wait_seconds=60)
        started = time.monotonic()
        with dg.build_sensor_context(instance=instance, sensor_name=SENSOR_NAME, resources={"warehouse": resource}) as context:
            request = new_transfer_sensor(context)
        assert time.monotonic() - started < 10, "the tick did not wait for the lock"
        assert isinstance(request, dg.RunRequest) and request.run_key == "KZ97/20210101T020000Z"
    assert not holds_refresh_lock(warehouse)


# --- what a failed step prints -------------------------------------------------------------------


@dg.op
def boom():
    raise ValueError("boom\nsecond line")


@dg.job(logger_defs={"progress": progress_logger})
def boom_job():
    boom()


def test_a_failed_step_shows_its_own_exception_not_dagsters_wrapper(capsys):
    result = boom_job.execute_in_process(run_config={"loggers": {"progress": {}}}, raise_on_error=False)
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.error.cls_name == "DagsterExecutionStepExecutionError"
    assert step_failure_cause(failure.step_failure_data.error) == "ValueError: boom\nsecond line"

    lines = capsys.readouterr().err.splitlines()
    [failed] = [line for line in lines if "boom: FAILED in" in line]
    assert failed.endswith(": ValueError: boom")
    assert lines[lines.index(failed) + 1] == "second line"
    assert "DagsterExecutionStepExecutionError" not in "\n".join(lines)


def _refresh_with_a_file_where(tmp_path, folder: str):
    """A refresh of one good transfer, with a file where the refresh writes its `folder`: it fails (3)."""
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ97")
    (tmp_path / folder).write_text(f"a file where the {folder} folder goes")
    result = run_refresh(landing, tmp_path / "warehouse.duckdb")
    assert result.returncode == 3, result.stderr
    return result


@pytest.mark.e2e
def test_a_failure_after_publication_says_the_warehouse_was_published(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    result = _refresh_with_a_file_where(tmp_path, "exports")
    assert "published_warehouse: done" in result.stderr and "study_report: done" in result.stderr
    assert "warehouse_exports: FAILED in " in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("FAILED ")]
    assert failed == [f"FAILED warehouse_exports: FileExistsError: [Errno 17] File exists: '{tmp_path / 'exports'}'"]
    assert result.stderr.splitlines()[-1] == (
        "refresh failed after publishing: warehouse_exports failed, but the warehouse WAS published (analysts see "
        "the new build); the next refresh writes the study report and the exports again"
    )
    assert "nothing was published" not in result.stderr and "Traceback" not in result.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT SITEID, STATUS FROM marts.extract_log").fetchall() == [("KZ97", "LOADED")]


def test_a_failure_before_publication_says_nothing_was_published(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    result = _refresh_with_a_file_where(tmp_path, "reports")
    failed = [line for line in result.stderr.splitlines() if line.startswith("FAILED ")]
    assert failed == [f"FAILED gx_raw_gate: NotADirectoryError: [Errno 20] Not a directory: '{tmp_path / 'reports' / 'validation'}'"]
    assert "DagsterExecutionStepExecutionError" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "refresh failed: nothing was published (the published warehouse is as it was); see the lines above"
    )
    assert "published_warehouse: done" not in result.stderr and not warehouse.exists()
