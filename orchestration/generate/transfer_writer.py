"""Writes one transfer folder: its CSV files as rows arrive, then manifest.json."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from pathlib import Path

from .layout import COLUMNS, DECIMAL_COLUMNS, DTS_VERSION, FILES, STUDY_ID
from .records import Entry
from .schedule import TransferFormat

FLUSH_AT = 1 << 16  # characters buffered per file before they are encoded and written
EXTRA_COLUMN = "EDC_STATUS"


# How a hand-edited export may spell header names (the DTS matches them case-insensitively).
_MIXED_CASE = {"RECID": "RecID", "SUBJID": "SubjID", "VISIT": "Visit", "FSDTC": "FSDtc", "NYHA": "nyha"}


def _mixed_case(name: str) -> str:
    return _MIXED_CASE.get(name, name.capitalize())


class _CsvFile:
    def __init__(self, path: Path, fmt: TransferFormat, header: list[str]):
        self.path = path
        self.encoding = fmt.encoding
        self.handle = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.rows = 0
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, delimiter=fmt.delimiter, lineterminator=fmt.line_terminator)
        if fmt.bom:
            self._emit(b"\xef\xbb\xbf")
        self.writer.writerow(header)

    def _emit(self, data: bytes) -> None:
        self.sha.update(data)
        self.handle.write(data)

    def write_rows(self, rows: list[list[str]]) -> None:
        self.writer.writerows(rows)
        self.rows += len(rows)
        if self.buffer.tell() >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        text = self.buffer.getvalue()
        if text:
            self._emit(text.encode(self.encoding))  # strict: an unencodable value is a generator bug
            self.buffer.seek(0)
            self.buffer.truncate()

    def close(self) -> dict:
        self.flush()
        self.handle.close()
        return {"name": self.path.name, "rows": self.rows, "sha256": self.sha.hexdigest()}


class TransferWriter:
    """Receives each subject's records and keeps those the transfer's cutoff lets through."""

    def __init__(self, folder: Path, site_id: str, fmt: TransferFormat):
        folder.mkdir(parents=True, exist_ok=False)
        self.folder, self.site_id, self.fmt = folder, site_id, fmt
        self._files: dict[str, _CsvFile] = {}
        self._decimal_idx: dict[str, tuple[int, ...]] = {}
        for name in FILES:
            header = list(COLUMNS[name])
            if name == fmt.mixed_case_header_file:
                header = [_mixed_case(c) for c in header]
            if name == fmt.extra_column_file:
                header.append(EXTRA_COLUMN)
            self._files[name] = _CsvFile(folder / f"{name}.csv", fmt, header)
            if fmt.decimal_separator != "." and name in DECIMAL_COLUMNS:
                self._decimal_idx[name] = tuple(COLUMNS[name].index(c) for c in DECIMAL_COLUMNS[name])

    def add(self, entries: dict[str, list[Entry]]) -> None:
        cutoff = self.fmt.cutoff
        for name, file_entries in entries.items():
            rows = [e.row for e in file_entries if e.visible_from < cutoff <= e.visible_until]
            if not rows:
                continue
            idx = self._decimal_idx.get(name)
            if idx:
                rows = [_decimal_comma(r, idx) for r in rows]
            if name == self.fmt.extra_column_file:
                rows = [r + [self._edc_status(name, r)] for r in rows]
            self._files[name].write_rows(rows)

    def _edc_status(self, name: str, row: list[str]) -> str:
        # dm carries it: a record is source-verified some weeks after consent.
        consent = date.fromisoformat(row[COLUMNS[name].index("CONSDT")]).toordinal()
        return "VERIFIED" if consent + 60 < self.fmt.cutoff else "ENTERED"

    def finish(self) -> Path:
        files = [f.close() for f in self._files.values()]
        manifest = {
            "dts_version": DTS_VERSION,
            "study": STUDY_ID,
            "site_id": self.site_id,
            "extract_id": self.fmt.extract_id,
            "extracted_at": self.fmt.extracted_at,
            "encoding": self.fmt.encoding,
            "delimiter": self.fmt.delimiter,
            "decimal_separator": self.fmt.decimal_separator,
            "files": files,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (self.folder / "manifest.json").write_bytes(text.encode("utf-8"))
        return self.folder


def _decimal_comma(row: list[str], idx: tuple[int, ...]) -> list[str]:
    row = list(row)
    for i in idx:
        if "." in row[i]:
            row[i] = row[i].replace(".", ",")
    return row
