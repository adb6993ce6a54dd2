"""Processes started by tests, each in its own process group, stopped with the whole group.

subprocess.run's timeout kills only the direct child, and a test that fails between Popen and
wait leaves its process running: `regenheart refresh` starts dbt, `dagster dev` starts a webserver,
a daemon and code servers, and those would outlive the test (and `make test`). Here every process
starts its own session, and its whole group is stopped however the test ends.

The test session also tags every process it starts: pytest_configure sets SESSION_TAG in the
environment, which workers and their processes inherit, and at the end `kill_leftovers` finds
(through /proc/<pid>/environ) and kills whatever still runs with the tag.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

SESSION_TAG = "REGENHEART_TEST_SESSION"


@contextmanager
def process_group(args, *, grace: float = 10, **popen_kwargs) -> Iterator[subprocess.Popen]:
    """Popen in a new session; on leaving, SIGTERM to its group, `grace` s for the leader, SIGKILL."""
    with subprocess.Popen(args, start_new_session=True, **popen_kwargs) as process:
        try:
            yield process
        finally:
            stop_group(process, grace)


def stop_group(process: subprocess.Popen, grace: float) -> None:
    if _signal_group(process.pid, 0):  # anything of the group still alive
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(process.pid, signal.SIGKILL)  # children can outlive the leader
    process.wait()


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False if nothing of it is left."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def run(args, *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(capture_output=True, text=True), with the timeout killing the whole group."""
    with process_group(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()  # what was written before the kill
            raise subprocess.TimeoutExpired(args, timeout, output=stdout, stderr=stderr) from None
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


_HOLD_READ_WRITE = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
)


@contextmanager
def duckdb_file_held(database) -> Iterator[None]:
    """Another process holds `database` read-write until the block ends: DuckDB then refuses every
    other process, even read-only, as while a refresh writes it."""
    with process_group(
        [sys.executable, "-c", _HOLD_READ_WRITE, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout.readline().strip() == "locked"
        yield


# --- the session-wide safety net -----------------------------------------------------------------


def tag_test_session() -> None:
    os.environ[SESSION_TAG] = uuid.uuid4().hex


def kill_leftovers(grace: float = 5) -> list[str]:
    """Kill the processes of this test session still running after `grace` s; describes each one."""
    tagged = _tagged_processes(os.environ[SESSION_TAG])
    deadline = time.monotonic() + grace
    while any(map(_running, tagged)) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = []
    for process in filter(_running, tagged):
        try:
            killed.append(f"{process.pid} {process.name()}: {' '.join(process.cmdline())}")
            process.kill()
        except psutil.NoSuchProcess:
            pass
    return killed


def report_leftovers(killed: list[str]) -> None:
    lines = "".join(f"\n  {description}" for description in killed)
    print(f"\npytest: killed {len(killed)} process(es) that tests left running:{lines}", file=sys.stderr, flush=True)


def _tagged_processes(session: str) -> list[psutil.Process]:
    me = psutil.Process()
    own = {me.pid, *(ancestor.pid for ancestor in me.parents()), *_multiprocessing_helpers(me)}
    tagged = []
    for process in psutil.process_iter():
        try:
            if process.pid not in own and process.environ().get(SESSION_TAG) == session:
                tagged.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return tagged


def _multiprocessing_helpers(me: psutil.Process) -> set[int]:
    """pytest's own resource tracker or forkserver (dbt makes multiprocessing locks): they end with it."""
    helpers = set()
    for child in me.children():
        try:
            if any(part.startswith("from multiprocessing.") for part in child.cmdline()):
                helpers.add(child.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return helpers


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie is done, only not reaped yet
    except psutil.NoSuchProcess:
        return False
