"""One refresh at a time per warehouse: an exclusive OS lock on `<dir>/<stem>.refresh.lock`.

DuckDB lets one process write a file, but a refresh opens and closes the build database at every
step and dbt writes it from a child process, so DuckDB's own lock cannot keep a second refresh
out for a whole run. This lock can: `regenheart refresh` holds it from before its first look at
the build database to its end, and a Dagster run (from the UI, the schedule or the sensor) holds
it from its first step that opens the build database to the end of the run (defs/resources.py).

The lock is fcntl.flock on a file beside the published warehouse: the kernel releases it when the
holder exits, however it exits (even SIGKILL), so there is never a stale lock to clean up. The
file is created when missing and never deleted (a waiter could lock a file just unlinked while a
third process creates and locks a new one). The holder writes its pid, host and start time into
it, for the waiters' messages.

Re-entrant within one process: `regenheart refresh` holds the lock and the Dagster run it starts
in the same process takes it again; each acquisition counts, the last release unlocks. (flock
itself would refuse a second open of the file in the same process.)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

RETRY_EVERY_SECONDS = 1.0
PROGRESS_EVERY_SECONDS = 60.0


def refresh_lock_path(published: Path) -> Path:
    """`<dir>/<stem>.refresh.lock` beside the published `<dir>/<stem>.duckdb`."""
    published = Path(published).absolute()
    return published.with_name(f"{published.stem}.refresh.lock")


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    since: str  # "YYYY-MM-DD HH:MM:SS UTC"

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.since}"


class RefreshLockBusy(Exception):
    """Another process held the refresh lock for longer than this one would wait."""

    def __init__(self, lock_path: Path, holder: LockHolder | None, waited_seconds: float):
        self.lock_path = lock_path
        self.holder = holder
        self.waited_seconds = waited_seconds
        waited = f"; gave up after waiting {waited_seconds:.0f} s" if waited_seconds > 0 else ""
        super().__init__(f"another refresh holds the warehouse ({_describe(holder, lock_path)}){waited}")


@dataclass
class _Held:
    fd: int
    count: int


_held: dict[Path, _Held] = {}  # by the lock file's resolved path: one entry whatever the path's spelling
_registry_lock = threading.Lock()


def acquire_refresh_lock(
    published: Path,
    wait_seconds: float,
    say: Callable[[str], None],
    wait_setting: str = "--wait",
) -> None:
    """Take the lock, waiting up to `wait_seconds` for another process to release it.

    `say` gets a line when the wait starts and every PROGRESS_EVERY_SECONDS; `wait_setting` names
    what sets the wait, for that line. Raises RefreshLockBusy when the wait runs out (at once for 0).
    Every successful call needs one release_refresh_lock."""
    lock_path = refresh_lock_path(published)
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_SECONDS
    if _try_acquire(lock_path):
        return
    if wait_seconds > 0:
        say(
            f"another refresh holds the warehouse ({_describe(read_lock_holder(lock_path), lock_path)}); "
            f"waiting up to {wait_seconds:.0f} s ({wait_setting})"
        )
    while True:
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise RefreshLockBusy(lock_path, read_lock_holder(lock_path), wait_seconds)
        time.sleep(min(RETRY_EVERY_SECONDS, wait_seconds - waited))
        if _try_acquire(lock_path):
            return
        if time.monotonic() >= next_progress:
            next_progress += PROGRESS_EVERY_SECONDS
            say(
                f"still waiting for the other refresh ({_describe(read_lock_holder(lock_path), lock_path)}): "
                f"{time.monotonic() - started:.0f} s of {wait_seconds:.0f} s"
            )


def release_refresh_lock(published: Path) -> None:
    """Count one acquisition down; the last one unlocks and closes the file (which stays)."""
    lock_path = refresh_lock_path(published)
    with _registry_lock:
        held = _held.get(lock_path.resolve())
        if held is None:
            raise RuntimeError(f"the refresh lock {lock_path} is not held by this process")
        held.count -= 1
        if held.count == 0:
            del _held[lock_path.resolve()]
            fcntl.flock(held.fd, fcntl.LOCK_UN)
            os.close(held.fd)


@contextmanager
def hold_refresh_lock(
    published: Path, wait_seconds: float, say: Callable[[str], None], wait_setting: str = "--wait"
) -> Iterator[None]:
    """The lock for the block's duration (see acquire_refresh_lock)."""
    acquire_refresh_lock(published, wait_seconds, say, wait_setting)
    try:
        yield
    finally:
        release_refresh_lock(published)


def holds_refresh_lock(published: Path) -> bool:
    """Whether this process holds the lock."""
    with _registry_lock:
        return refresh_lock_path(published).resolve() in _held


def read_lock_holder(lock_path: Path) -> LockHolder | None:
    """Who wrote the lock file last: the holder while it is locked. None if unreadable (being written)."""
    try:
        record = json.loads(lock_path.read_text(encoding="utf-8"))
        return LockHolder(pid=int(record["pid"]), host=str(record["host"]), since=str(record["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _try_acquire(lock_path: Path) -> bool:
    with _registry_lock:
        held = _held.get(lock_path.resolve())
        if held is not None:
            held.count += 1
            return True
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        _write_holder(fd)
        _held[lock_path.resolve()] = _Held(fd=fd, count=1)
        return True


def _write_holder(fd: int) -> None:
    since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since})
    os.ftruncate(fd, 0)
    os.pwrite(fd, (record + "\n").encode("utf-8"), 0)


def _describe(holder: LockHolder | None, lock_path: Path) -> str:
    return str(holder) if holder else f"holder unknown, lock file {lock_path}"
