"""One streaming pass over a delivered file: its sha256, its line count, and a UTF-8 copy.

The delivered file is only ever read. DuckDB's CSV reader cannot decode cp1251, so such files are
transcoded into a scratch copy; UTF-8 files (with or without BOM) are read where they lie.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


class NotARegularFile(OSError):
    """A delivered path that is a symbolic link, a folder, a pipe or a device: never read."""


def file_kind(path: Path) -> str | None:
    """None for a regular file; else what `path` is (without following a link)."""
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file (a pipe, socket or device)"


def open_delivered(path: Path) -> BinaryIO:
    """`path` opened for reading only if it is a regular file, itself, not through a link: a pipe
    would block the refresh, a link would read something outside the transfer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if os.path.islink(path):
            raise NotARegularFile(f"{path.name} is a symbolic link") from error
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(f"{path.name} is {file_kind(path) or 'not a regular file'}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True)
class ScannedFile:
    sha256: str
    physical_lines: int  # line feeds, plus one for a last line without one
    readable_path: Path
    lone_carriage_returns: bool  # a CR not followed by LF: lines counted by LF alone are not the CSV's lines


class UndecodableFile(ValueError):
    def __init__(self, line: int, detail: str):
        self.line = line
        super().__init__(detail)


def scan_file(path: Path, encoding: str, scratch_dir: Path) -> ScannedFile:
    """Hash and count `path`, check it decodes as `encoding`, and give a UTF-8 path to read."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = carriage_returns = crlf = 0
    last_byte = b""
    transcode = encoding != "utf-8"
    target = scratch_dir / path.name if transcode else path
    out = target.open("w", encoding="utf-8", newline="") if transcode else None
    try:
        with open_delivered(path) as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                carriage_returns += chunk.count(b"\r")
                crlf += chunk.count(b"\r\n") + (last_byte == b"\r" and chunk[:1] == b"\n")
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
    return ScannedFile(digest.hexdigest(), physical_lines, target, carriage_returns != crlf)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_delivered(path) as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
