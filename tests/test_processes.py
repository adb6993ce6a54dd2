"""tests/processes.py on real process trees: nothing a test starts outlives it."""

import os
import subprocess
import sys
import time

import psutil
import pytest

from processes import SESSION_TAG, process_group, run

# A leader that starts a grandchild, prints the grandchild's pid, and waits.
TREE = [
    sys.executable, "-c",
    "import subprocess, sys, time; child = subprocess.Popen(['sleep', '300']); print(child.pid, flush=True); "
    "time.sleep(300)",
]
# Says it runs, and waits; the stubborn one ignores SIGTERM.
SLEEPER = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(300)"]
STUBBORN = [
    sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(300)",
]


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for its parent (init) to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def eventually_gone(pid: int, within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return gone(pid)


def test_a_failing_block_stops_the_leader_and_its_grandchild():
    with pytest.raises(RuntimeError, match="the test failed"):
        with process_group(TREE, stdout=subprocess.PIPE, text=True) as leader:
            grandchild = int(leader.stdout.readline())
            assert not gone(grandchild)
            raise RuntimeError("the test failed")

    assert leader.returncode is not None
    assert eventually_gone(leader.pid) and eventually_gone(grandchild)


def test_run_timeout_kills_the_whole_tree_and_keeps_the_output():
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as timeout:
        run(TREE, timeout=3)

    assert time.monotonic() - started < 15
    grandchild = int(timeout.value.stdout)  # the output written before the timeout
    assert eventually_gone(grandchild)


def test_run_returns_what_the_process_wrote():
    result = run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                 timeout=30)

    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_a_leader_ignoring_sigterm_is_killed_after_the_grace():
    started = time.monotonic()
    with process_group(STUBBORN, grace=1, stdout=subprocess.PIPE, text=True) as leader:
        assert leader.stdout.readline().strip() == "ready"

    assert leader.returncode == -9  # SIGKILL: SIGTERM was ignored
    assert time.monotonic() - started < 1 + 5


def test_processes_started_by_tests_carry_the_session_tag():
    session = os.environ.get(SESSION_TAG)
    assert session and len(session) == 32  # set by conftest.pytest_configure, a uuid4 hex

    # Once it prints: right after Popen returns, execve may not have set up /proc/<pid>/environ yet.
    with process_group(SLEEPER, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline().strip() == "ready"
        assert psutil.Process(process.pid).environ()[SESSION_TAG] == session
