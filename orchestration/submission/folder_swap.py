"""Replace a folder as a whole: a reader sees the previous complete folder or the new one.

On Linux, renameat2(RENAME_EXCHANGE) swaps the two names in one atomic step (called through
ctypes: Python has no binding). Where it is missing (another system, an old kernel or C library,
a file system without it), the old folder is renamed away and the new one renamed in: two renames,
between which the folder is briefly absent (never a mixture).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
NEW_MARK, OLD_MARK = "-new-", "-old-"


def staging_folder(target: Path) -> Path:
    """A new empty folder beside `target` to write the next version into (leftovers of a killed run removed)."""
    remove_leftovers(target)
    folder = target.with_name(f".{target.name}{NEW_MARK}{uuid.uuid4().hex}")
    folder.mkdir(parents=True)
    return folder


def remove_leftovers(target: Path) -> None:
    if not target.parent.is_dir():
        return
    for mark in (NEW_MARK, OLD_MARK):
        for leftover in target.parent.glob(f".{target.name}{mark}*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder `new` in the place of `target` (which may not exist yet), then remove the old one."""
    _sync(new)
    if target.exists() and _exchange(new, target):
        shutil.rmtree(new)  # holds the previous version now
    elif target.exists():
        old = target.with_name(f".{target.name}{OLD_MARK}{uuid.uuid4().hex}")
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old)
    else:
        os.rename(new, target)
    _sync(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _sync(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder] if folder.is_dir() else []:
        if path.is_file() or path.is_dir():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
