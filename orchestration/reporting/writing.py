"""Writing a report file: readers see the previous file or the new one, never half of one."""

from __future__ import annotations

from pathlib import Path

from orchestration.exports.files import atomic_file


def write_atomically(target: Path, content: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(target) as partial:
        partial.write_text(content, encoding="utf-8")
    return target
