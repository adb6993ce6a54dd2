"""Writing files atomically into the exports folder, and cleaning up after earlier exports."""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from orchestration.publishing import fsync

MANIFEST = "manifest.json"
_PARTIAL_MARK = ".partial-"


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`: write it in the block; it replaces `target` on success."""
    partial = target.with_name(f".{target.name}{_PARTIAL_MARK}{uuid.uuid4().hex}")
    try:
        yield partial
        fsync(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def remove_partial_files(folder: Path) -> None:
    # Left by an export killed while writing.
    for leftover in folder.glob(f".*{_PARTIAL_MARK}*"):
        leftover.unlink(missing_ok=True)


def previous_files(folder: Path) -> set[str]:
    """The files the last export wrote (its manifest); none when there is no readable manifest."""
    try:
        return set(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def write_manifest(
    folder: Path, published: Path, files: dict[str, int], xpt_adjustments: list[dict], publication: str | None = None,
) -> None:
    """The export's manifest: the warehouse file and its publication, every file with its rows, and
    the values the XPT files hold cut or missing (one entry per file, column and rule)."""
    manifest = {
        "warehouse": str(published), "publication": publication, "files": files, "xpt_adjustments": xpt_adjustments,
    }
    with atomic_file(folder / MANIFEST) as partial:
        partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def sync_folder(folder: Path) -> None:
    fsync(folder)

