"""A binary file written by a thread of its own, so that the caller computes its next batch while
the disk takes this one (writing gigabytes is as slow as computing them).

`write` hands a buffer over and returns at once; at most `depth` buffers wait, so memory holds a
few batches whatever the file's size. The buffer must not change afterwards (the writers hand over
a batch's own arrays). An error of the writing thread is raised by the next call, and by `close`.

The file is written around the page cache (O_DIRECT) where the file system allows it: the thread
gathers the buffers into one block-aligned staging buffer and writes it whole. Through the page
cache, each gigabyte written costs the kernel about 2 s of CPU to find and fill new cache pages
(measured on the 2-CPU machine: 2 GB in 16 MB writes, 1.8 to 5 s of system time; direct, 0.15 s),
CPU the package's writers need: the gigabytes of an export are not read again by this process.
The tail that does not fill a block is written through the cache when the file is finished
(`flush`, `close`). A file system without O_DIRECT (tmpfs, some network mounts) is written through
the cache from the start.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import queue
import threading
from pathlib import Path

import numpy as np

_DONE = object()
_STAGE_BYTES = 8 << 20  # a multiple of every device block size O_DIRECT may require (512 B to 64 KiB)


class QueuedFile:
    def __init__(self, path: Path, depth: int = 4):
        self._fd, self._direct = _open(Path(path))
        self._stage = mmap.mmap(-1, _STAGE_BYTES) if self._direct else None  # page-aligned, as O_DIRECT needs
        self._staging = np.frombuffer(self._stage, dtype=np.uint8) if self._direct else None
        self._staged = 0
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write_all, name=f"write {Path(path).name}", daemon=True)
        self._thread.start()

    def _write_all(self) -> None:
        while (data := self._queue.get()) is not _DONE:
            try:
                if self._error is None:
                    self._append(memoryview(data).cast("B"))
            except BaseException as error:  # kept for the caller: its next call raises it
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _append(self, data: memoryview) -> None:
        if not self._direct:
            _write_fully(self._fd, data)
            return
        while data:
            taken = min(len(data), _STAGE_BYTES - self._staged)
            # numpy copies without holding the GIL (an mmap slice assignment holds it): the
            # writers' own Python work goes on meanwhile
            np.copyto(self._staging[self._staged:self._staged + taken], np.frombuffer(data[:taken], dtype=np.uint8))
            self._staged += taken
            data = data[taken:]
            if self._staged == _STAGE_BYTES:
                self._write_stage()

    def _write_stage(self) -> None:
        staged = memoryview(self._stage)[:self._staged]
        try:
            _write_fully(self._fd, staged)
        except OSError as error:
            if error.errno != errno.EINVAL:  # EINVAL: the file system refuses direct writes after all
                raise
            self._through_cache()
            _write_fully(self._fd, staged)
        finally:
            staged.release()
        self._staged = 0

    def _through_cache(self) -> None:
        """Write the tail, and whatever comes after it, through the page cache."""
        if not self._direct:
            return
        fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self._direct = False
        if self._staged:
            staged = memoryview(self._stage)[:self._staged]
            try:
                _write_fully(self._fd, staged)
            finally:
                staged.release()
            self._staged = 0

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data) -> None:
        self._raise()
        self._queue.put(data)

    def flush(self):
        """Wait until every buffer handed over is written; returns the file (unbuffered, for seek /
        truncate / write at its end); later writes go through the page cache."""
        self._queue.join()
        self._raise()
        self._through_cache()
        return os.fdopen(self._fd, "wb", buffering=0, closefd=False)

    def close(self) -> None:
        try:
            if self._thread.is_alive():
                self._queue.put(_DONE)
                self._thread.join()
            if self._error is None:
                self._through_cache()
        finally:
            os.close(self._fd)
            if self._stage is not None:
                self._staging = None  # numpy's view first: an mmap with a view cannot close
                self._stage.close()
        self._raise()


def _open(path: Path) -> tuple[int, bool]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            return os.open(path, flags | direct, 0o666), True
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
    return os.open(path, flags, 0o666), False


def _write_fully(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data):]
