"""One streaming pass over a delivered file: its sha256, its line count, and a UTF-8 copy.

The delivered file is only ever read. DuckDB's CSV reader cannot decode cp1251, so such files are
transcoded into a scratch copy; UTF-8 files (with or without BOM) are read where they lie.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ScannedFile:
    sha256: str
    physical_lines: int
    readable_path: Path


class UndecodableFile(ValueError):
    def __init__(self, line: int, detail: str):
        self.line = line
        super().__init__(detail)


def scan_file(path: Path, encoding: str, scratch_dir: Path) -> ScannedFile:
    """Hash and count `path`, check it decodes as `encoding`, and give a UTF-8 path to read."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    last_byte = b""
    transcode = encoding != "utf-8"
    target = scratch_dir / path.name if transcode else path
    out = target.open("w", encoding="utf-8", newline="") if transcode else None
    try:
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = newlines + chunk[: exc.start].count(b"\n") + 1
                    raise UndecodableFile(line, f"bytes not valid {encoding}: {exc.reason}") from exc
                newlines += chunk.count(b"\n")
                last_byte = chunk[-1:]
                if out:
                    out.write(text)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise UndecodableFile(newlines + 1, f"file ends inside a {encoding} character") from exc
    finally:
        if out:
            out.close()
    physical_lines = newlines + (1 if last_byte not in (b"", b"\n") else 0)
    return ScannedFile(digest.hexdigest(), physical_lines, target)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
