"""Transfers in the landing folder: finding the complete ones and naming what is wrong with one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration import dts


@dataclass(frozen=True, order=True)
class TransferRef:
    """A delivered transfer folder `<landing>/<SITEID>/<EXTRACT_ID>/` (ids as the folder names)."""

    site_id: str
    extract_id: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.site_id}/{self.extract_id}"

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
        self.detail = detail
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"transfer {self.transfer.label}"
        if self.file:
            where += f", file {self.file}"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.detail} [rule {self.rule}]"


def find_complete_transfers(landing_dir: Path) -> list[TransferRef]:
    """Every `<site>/<extract>/` folder that holds a manifest, in site then extract-id order.

    A folder without `manifest.json` is still being delivered and is left alone. Files and
    hidden folders at either level are not transfers.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist (REGENHEART_LANDING_DIR)")
    found = []
    for site_dir in _visible_dirs(landing_dir):
        for extract_dir in _visible_dirs(site_dir):
            if (extract_dir / dts.MANIFEST_NAME).is_file():
                found.append(TransferRef(site_dir.name, extract_dir.name, extract_dir))
    return sorted(found)


def _visible_dirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))
