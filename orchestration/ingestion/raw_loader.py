"""Loading one checked transfer into the append-only raw tables, all or nothing.

Raw keeps every transfer exactly as delivered: text columns under their upper-cased trimmed
header names (extra columns too), plus SITEID, EXTRACT_ID, SOURCE_FILE, SOURCE_LINE (the file line
where the row starts; line 1 is the header) and LOADED_AT.

A header's names are data: Python's csv module reads the header record, the names are checked
(none empty, none twice after trimming and upper-casing), and DuckDB reads the rows under
positional names (c0, c1, ...) with no dialect sniffing, so that neither DuckDB's renaming of
repeated names nor a row of another width can change what a column means. Every name goes into
SQL through orchestration.sql.identifier.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import duckdb

from orchestration import dts
from orchestration.ingestion.file_scan import (
    NotARegularFile, ScannedFile, UndecodableFile, file_kind, file_sha256, open_delivered, scan_file,
)
from orchestration.ingestion.manifest import Manifest
from orchestration.ingestion.transfers import TransferRef, TransferRejected, printable
from orchestration.sql import identifier, qualified
from orchestration.warehouse import LOAD_COLUMNS, RAW_SCHEMA, raw_columns

_STAGING_TABLE = "_incoming_file"
# The staged rows with their position in the file (0 for the first data row). The rowids of a
# table created in the open transaction start at an offset and follow the file's order: the
# first one ($first_rowid) is read once (a window over the whole table would hold every row).
_POSITIONED_ROWS = f"(SELECT *, rowid - $first_rowid AS position FROM {_STAGING_TABLE})"
# Header names an extra column cannot take as they are: the load columns, and DuckDB's row id.
_RESERVED_NAMES = frozenset(LOAD_COLUMNS) | {"ROWID"}
# A header wider than this is not an EDC extract; each extra column would widen raw for good.
MAX_COLUMNS = 500
# DuckDB reads lines of up to 2 MB (max_line_size); the csv module must read the same records.
csv.field_size_limit(max(csv.field_size_limit(), 8 * (1 << 20)))


@dataclass
class LoadedTransfer:
    transfer: TransferRef
    rows_by_file: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_file.values())


@dataclass
class LoadProgress:
    """Which file a load was at: an unexpected error's rejection names it."""

    file: str | None = None


def check_listed_files(transfer: TransferRef, manifest: Manifest) -> None:
    """Every DTS file is listed, and every listed file is there, as a regular file."""
    for domain in dts.DTS_FILES:
        name = dts.file_name(domain)
        if manifest.listed(name) is None:
            raise TransferRejected(transfer, "required-file", f"required file {name} is not in the manifest", file=name)
    for listed in manifest.files:
        try:
            kind = file_kind(transfer.path / listed.name)
        except FileNotFoundError:
            raise TransferRejected(transfer, "listed-file-missing", "listed in the manifest but not delivered", file=listed.name)
        if kind is not None:
            raise TransferRejected(transfer, "file-type", f"{kind}: a transfer holds regular files only", file=listed.name)


def load_transfer(
    con: duckdb.DuckDBPyConnection,
    transfer: TransferRef,
    manifest: Manifest,
    loaded_at: datetime,
    scratch_dir: Path,
    progress: LoadProgress | None = None,
) -> LoadedTransfer:
    """Append every file of the transfer to raw. The caller owns the surrounding transaction."""
    progress = progress or LoadProgress()
    check_listed_files(transfer, manifest)
    result = LoadedTransfer(transfer)
    for listed in manifest.files:
        progress.file = listed.name
        domain = listed.name.removesuffix(".csv")
        with _reading(transfer, listed.name):
            if listed.name != dts.file_name(domain) or domain not in dts.REQUIRED_COLUMNS:
                _verify_sha256(transfer, listed, file_sha256(transfer.path / listed.name))
                continue  # delivered and checked, but not a DTS file: nothing to load
            result.rows_by_file[listed.name] = _load_file(
                con, transfer, manifest, listed, domain, loaded_at, scratch_dir
            )
    progress.file = None
    return result


@contextmanager
def _reading(transfer: TransferRef, name: str) -> Iterator[None]:
    """A delivered file that cannot be read rejects the transfer, naming the file."""
    try:
        yield
    except NotARegularFile as error:
        raise TransferRejected(transfer, "file-type", f"{error}: a transfer holds regular files only", file=name) from error
    except PermissionError as error:
        raise TransferRejected(transfer, "file-unreadable", f"cannot be read ({error.strerror})", file=name) from error


def _verify_bytes(transfer, manifest, listed, scratch_dir) -> ScannedFile:
    path = transfer.path / listed.name
    try:
        scanned = scan_file(path, manifest.encoding, scratch_dir)
    except UndecodableFile as exc:
        raise TransferRejected(transfer, "file-encoding", str(exc), file=listed.name, line=exc.line)
    _verify_sha256(transfer, listed, scanned.sha256)
    return scanned


def _verify_sha256(transfer, listed, actual: str) -> None:
    if actual != listed.sha256:
        raise TransferRejected(
            transfer, "file-sha256", f"sha256 is {actual}, the manifest says {listed.sha256}", file=listed.name
        )


def _load_file(con, transfer, manifest, listed, domain, loaded_at, scratch_dir) -> int:
    scanned = _verify_bytes(transfer, manifest, listed, scratch_dir)
    header, header_lines = _read_header(transfer, listed.name, scanned.readable_path, manifest.delimiter)
    columns = _normalized_columns(transfer, listed.name, header, domain)
    _stage_rows(con, transfer, listed.name, scanned.readable_path, manifest.delimiter, len(header))
    rows, first_rowid = con.execute(f"SELECT count(*), min(rowid) FROM {_STAGING_TABLE}").fetchall()[0]
    if rows != listed.rows:
        raise TransferRejected(
            transfer, "file-rows", f"holds {rows} data rows, the manifest says {listed.rows}", file=listed.name
        )

    lines = _record_lines(transfer, listed.name, scanned, rows, manifest.delimiter, header_lines)
    _reject_repeated_recid(con, transfer, listed.name, columns, lines, first_rowid)
    _add_extra_columns(con, domain, columns)
    line_of_row = "position + 2" if lines is None else "$lines[position + 1]"
    select_columns = ", ".join(f"{identifier(f'c{i}')} AS {identifier(name)}" for i, name in enumerate(columns))
    con.execute(
        f"""INSERT INTO {qualified(RAW_SCHEMA, domain)} BY NAME
            SELECT $site AS SITEID, $extract AS EXTRACT_ID, $file AS SOURCE_FILE, {line_of_row} AS SOURCE_LINE,
                   $loaded_at AS LOADED_AT, {select_columns}
            FROM {_POSITIONED_ROWS}""",
        {"site": transfer.site_id, "extract": transfer.extract_id, "file": listed.name, "loaded_at": loaded_at,
         "first_rowid": first_rowid}
        | ({} if lines is None else {"lines": lines}),
    )
    con.execute(f"DROP TABLE {_STAGING_TABLE}")
    return rows


def _read_header(transfer, file_name: str, path: Path, delimiter: str) -> tuple[list[str], int]:
    """The header record's names, as read, and the number of lines it spans."""
    try:
        with open_delivered(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
            header = next(reader, None)
            lines = reader.line_num
    except csv.Error as error:
        raise TransferRejected(transfer, "csv-format", f"the header is not readable as CSV ({error})", file=file_name, line=1)
    if not header:
        raise TransferRejected(transfer, "required-column", "the file has no header", file=file_name, line=1)
    return header, lines


def _stage_rows(con, transfer, file_name: str, path: Path, delimiter: str, width: int) -> None:
    """The file's data rows into a temporary table, as text, under positional names."""
    con.execute(f"DROP TABLE IF EXISTS {_STAGING_TABLE}")
    try:
        con.execute(
            f"""CREATE TEMP TABLE {_STAGING_TABLE} AS SELECT * FROM read_csv(
                $path, header = true, auto_detect = false, columns = $columns, delim = $delimiter,
                quote = '"', escape = '"', strict_mode = true, null_padding = false)""",
            {"path": str(path), "delimiter": delimiter, "columns": {f"c{i}": "VARCHAR" for i in range(width)}},
        )
    except duckdb.InvalidInputException as exc:
        raise TransferRejected(transfer, "csv-format", f"not readable as CSV: {_csv_error(exc)}", file=file_name)


def _csv_error(error: Exception) -> str:
    """DuckDB's diagnosis of a CSV error without the offending line's content (it may hold
    personal data, and the reason is published in marts.extract_log)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    kept = [lines[0]] if lines else []
    kept += [line for line in lines[1:3] if not line.startswith(("Original Line", "Possible", "*", "file ="))][:1]
    return " ".join(kept)


def _normalized_columns(transfer, file_name: str, header: list[str], domain: str) -> list[str]:
    """Each header name's raw column (upper case, trimmed), in header order."""
    if len(header) > MAX_COLUMNS:
        raise TransferRejected(transfer, "csv-format", f"the header names {len(header)} columns (at most {MAX_COLUMNS})", file=file_name, line=1)
    columns: list[str] = []
    for position, name in enumerate(header, start=1):
        normalized = name.strip().upper()
        if not normalized:
            raise TransferRejected(transfer, "csv-format", f"column {position} of the header has no name", file=file_name, line=1)
        if normalized in _RESERVED_NAMES:
            normalized = f"SRC_{normalized}"  # an extra column must not shadow load metadata
        if normalized in columns:
            raise TransferRejected(
                transfer, "csv-format",
                f"column {printable(normalized, 80)} appears twice in the header (columns {columns.index(normalized) + 1} and {position})",
                file=file_name, line=1,
            )
        columns.append(normalized)
    missing = [c for c in dts.REQUIRED_COLUMNS[domain] if c not in columns]
    if missing:
        raise TransferRejected(
            transfer, "required-column", f"header lacks required column(s): {', '.join(missing)}", file=file_name, line=1
        )
    return columns


def _record_lines(transfer, file_name: str, scanned: ScannedFile, rows: int, delimiter: str, header_lines: int) -> list[int] | None:
    """The file line each data row starts on, by position; None when it is the position plus 2
    (one line per record: the usual case). Otherwise (quoted line breaks, blank lines, lines
    ended by a lone CR) the record start lines are counted exactly."""
    if scanned.physical_lines == rows + 1 and header_lines == 1 and not scanned.lone_carriage_returns:
        return None
    starts = _record_start_lines(scanned.readable_path, delimiter)
    if len(starts) != rows:  # DuckDB and the csv module must agree on where records are
        raise TransferRejected(
            transfer, "csv-format", f"its records cannot be told apart ({len(starts)} records by line, {rows} read)", file=file_name
        )
    return starts


def _record_start_lines(path: Path, delimiter: str) -> list[int]:
    with open_delivered(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True)
        next(reader, None)
        starts, previous_end = [], reader.line_num
        for record in reader:
            if record:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts


def _reject_repeated_recid(
    con, transfer, file_name: str, columns: list[str], lines: list[int] | None, first_rowid: int | None
) -> None:
    """RECID is the EDC's record id, unique in its file (DTS section 3): a file naming one twice
    is rejected; no guess is made at which row is the record."""
    recid = identifier(f"c{columns.index('RECID')}")
    repeated = con.execute(
        f"""SELECT trim({recid}) AS RECID, min(position) AS FIRST, count(*) AS N
            FROM {_POSITIONED_ROWS}
            WHERE nullif(trim({recid}), '') IS NOT NULL
            GROUP BY trim({recid}) HAVING count(*) > 1
            ORDER BY min(position) LIMIT 1""",
        {"first_rowid": first_rowid},
    ).fetchall()
    if repeated:
        value, first, count = repeated[0]
        # the row naming it again: the first after `first` (looked for only in a rejected file)
        second = con.execute(
            f"SELECT min(position) FROM {_POSITIONED_ROWS} WHERE trim({recid}) = $value AND position > $first",
            {"first_rowid": first_rowid, "value": value, "first": first},
        ).fetchall()[0][0]
        first_line, second_line = ((p + 2) if lines is None else lines[p] for p in (first, second))
        more = f" ({count} rows in all)" if count > 2 else ""
        raise TransferRejected(
            transfer, "duplicate-recid",
            f"RECID {printable(repr(value), 80)} is on lines {first_line} and {second_line}{more}: a RECID names one record of its file",
            file=file_name, line=second_line,
        )


def _add_extra_columns(con, domain: str, columns: list[str]) -> None:
    """Extra (non-DTS) columns are allowed and kept: raw grows a text column for each."""
    extra = [column for column in columns if column not in dts.REQUIRED_COLUMNS[domain]]
    if not extra:
        return  # raw has every DTS column from the start (warehouse.ensure_raw_layer)
    existing = raw_columns(con, domain)
    for column in extra:
        if column not in existing:
            con.execute(f"ALTER TABLE {qualified(RAW_SCHEMA, domain)} ADD COLUMN {identifier(column)} VARCHAR")
