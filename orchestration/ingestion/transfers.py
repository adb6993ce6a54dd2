"""Transfers in the landing folder: finding the complete ones and naming what is wrong with one."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from orchestration import dts

MAX_DETAIL_CHARS = 500  # of a rejection's detail: a reason is a line of the transfer log, not a dump


@dataclass(frozen=True, order=True)
class TransferRef:
    """A delivered transfer folder `<landing>/<SITEID>/<EXTRACT_ID>/`.

    `site_id` and `extract_id` are the folder names as text that can be stored and printed
    (`printable`): the same as the names for every valid id, which is all that can be loaded."""

    site_id: str
    extract_id: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.site_id}/{self.extract_id}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.site_id, self.extract_id)

    @property
    def manifest_path(self) -> Path:
        return self.path / dts.MANIFEST_NAME


class TransferRejected(Exception):
    """The whole transfer is refused; `rule` is one of the rejection rules in README.md."""

    def __init__(
        self,
        transfer: TransferRef,
        rule: str,
        detail: str,
        file: str | None = None,
        line: int | None = None,
    ):
        self.transfer = transfer
        self.rule = rule
        self.detail = printable(detail, MAX_DETAIL_CHARS)
        self.file = printable(file) if file is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"transfer {self.transfer.label}"
        if self.file:
            where += f", file {self.file}"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.detail} [rule {self.rule}]"


def printable(text: str, limit: int | None = None) -> str:
    """`text` as one line of valid UTF-8 that a database and a terminal show as it is: a byte a
    file name could not decode as `\\xNN`; control characters (line breaks, NUL), lone surrogates
    and invisible format characters as escapes; cut to `limit` characters with a mark. Ordinary
    text (Cyrillic included) is unchanged."""
    text = str(text)
    if limit is not None:
        text = text[: 4 * limit]  # escapes only lengthen it
    if any(_needs_escape(ch) for ch in text):
        text = "".join(_escape(ch) if _needs_escape(ch) else ch for ch in text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


# control characters, surrogates, invisible format characters (a right-to-left override, a
# zero-width space) and line or paragraph separators: what would garble or hide part of a line
_ESCAPED_CATEGORIES = ("Cc", "Cs", "Cf", "Zl", "Zp")


def _needs_escape(ch: str) -> bool:
    return unicodedata.category(ch) in _ESCAPED_CATEGORIES


def _escape(ch: str) -> str:
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # how Python holds a file name's undecodable byte
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch.encode("unicode_escape").decode("ascii")


def find_complete_transfers(landing_dir: Path) -> list[TransferRef]:
    """Every `<site>/<extract>/` folder that holds a manifest, in site then extract-id order.

    A folder without `manifest.json` is still being delivered and is left alone. Files and
    hidden folders at either level are not transfers. A folder reached through a symbolic link is
    listed like any other: ingestion rejects it (a transfer is a folder delivered into the landing
    folder, DTS section 1), so that it is logged once instead of being loaded from elsewhere.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist (REGENHEART_LANDING_DIR)")
    found = []
    for site_dir in _visible_dirs(landing_dir):
        for extract_dir in _visible_dirs(site_dir):
            if os.path.lexists(extract_dir / dts.MANIFEST_NAME):
                found.append(TransferRef(printable(site_dir.name), printable(extract_dir.name), extract_dir))
    return sorted(found)


def _visible_dirs(parent: Path) -> list[Path]:
    try:
        entries = list(os.scandir(parent))
    except OSError:  # an unreadable site folder holds no transfer we could read
        return []
    folders = []
    for entry in entries:
        try:
            if not entry.name.startswith(".") and entry.is_dir():
                folders.append(Path(entry.path))
        except OSError:
            continue
    return sorted(folders)
