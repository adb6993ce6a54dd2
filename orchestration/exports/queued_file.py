"""A binary file written by a thread of its own, so that the caller computes its next batch while
the disk takes this one (writing gigabytes is as slow as computing them).

`write` hands a buffer over and returns at once; at most `depth` buffers wait, so memory holds a
few batches whatever the file's size. The buffer must not change afterwards (the writers hand over
a batch's own arrays). An error of the writing thread is raised by the next call, and by `close`.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import BinaryIO

_DONE = object()


class QueuedFile:
    def __init__(self, path: Path, depth: int = 4):
        self.file: BinaryIO = open(path, "wb")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write_all, name=f"write {Path(path).name}", daemon=True)
        self._thread.start()

    def _write_all(self) -> None:
        while (data := self._queue.get()) is not _DONE:
            try:
                if self._error is None:
                    self.file.write(data)
            except BaseException as error:  # kept for the caller: its next call raises it
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data) -> None:
        self._raise()
        self._queue.put(data)

    def flush(self) -> BinaryIO:
        """Wait until every buffer handed over is written; returns the file (for seek / truncate)."""
        self._queue.join()
        self._raise()
        return self.file

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        self.file.close()
        self._raise()
