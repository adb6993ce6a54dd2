"""Loading one checked transfer into the append-only raw tables, all or nothing.

Raw keeps every transfer exactly as delivered: text columns under their upper-cased trimmed
header names (extra columns too), plus SITEID, EXTRACT_ID, SOURCE_FILE, SOURCE_LINE (the file line
where the row starts; line 1 is the header) and LOADED_AT.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from orchestration import dts
from orchestration.ingestion.file_scan import UndecodableFile, file_sha256, scan_file
from orchestration.ingestion.manifest import Manifest
from orchestration.ingestion.transfers import TransferRef, TransferRejected
from orchestration.warehouse import LOAD_COLUMNS, RAW_SCHEMA, raw_columns

_STAGING_TABLE = "_incoming_file"


@dataclass
class LoadedTransfer:
    transfer: TransferRef
    rows_by_file: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_file.values())


def check_listed_files(transfer: TransferRef, manifest: Manifest) -> None:
    """Every DTS file is listed, and every listed file is there."""
    for domain in dts.DTS_FILES:
        name = dts.file_name(domain)
        if manifest.listed(name) is None:
            raise TransferRejected(transfer, "required-file", f"required file {name} is not in the manifest", file=name)
    for listed in manifest.files:
        if not (transfer.path / listed.name).is_file():
            raise TransferRejected(transfer, "listed-file-missing", "listed in the manifest but not delivered", file=listed.name)


def load_transfer(
    con: duckdb.DuckDBPyConnection,
    transfer: TransferRef,
    manifest: Manifest,
    loaded_at: datetime,
    scratch_dir: Path,
) -> LoadedTransfer:
    """Append every file of the transfer to raw. The caller owns the surrounding transaction."""
    check_listed_files(transfer, manifest)
    result = LoadedTransfer(transfer)
    for listed in manifest.files:
        domain = listed.name.removesuffix(".csv")
        if listed.name != dts.file_name(domain) or domain not in dts.REQUIRED_COLUMNS:
            _verify_sha256(transfer, listed, file_sha256(transfer.path / listed.name))
            continue  # delivered and checked, but not a DTS file: nothing to load
        result.rows_by_file[listed.name] = _load_file(
            con, transfer, manifest, listed, domain, loaded_at, scratch_dir
        )
    return result


def _verify_bytes(transfer, manifest, listed, scratch_dir) -> Path:
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
    con.execute(f"DROP TABLE IF EXISTS {_STAGING_TABLE}")
    try:
        con.execute(
            f"""CREATE TEMP TABLE {_STAGING_TABLE} AS SELECT * FROM read_csv(
                ?, header = true, all_varchar = true, delim = ?, quote = '"', escape = '"',
                strict_mode = true, null_padding = false)""",
            [str(scanned.readable_path), manifest.delimiter],
        )
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise TransferRejected(transfer, "csv-format", f"not readable as CSV: {first_line}", file=listed.name)

    header = [row[0] for row in con.execute(f"DESCRIBE {_STAGING_TABLE}").fetchall()]
    columns = _normalized_columns(transfer, listed.name, header, domain)
    rows = con.execute(f"SELECT count(*) FROM {_STAGING_TABLE}").fetchone()[0]
    if rows != listed.rows:
        raise TransferRejected(
            transfer, "file-rows", f"holds {rows} data rows, the manifest says {listed.rows}", file=listed.name
        )

    line_of_row, line_join = _line_numbers(con, scanned, rows, manifest.delimiter)
    _add_extra_columns(con, domain, columns.values())
    select_columns = ", ".join(f'"{src}" AS "{dst}"' for src, dst in columns.items())
    con.execute(
        f"""INSERT INTO {RAW_SCHEMA}.{domain} BY NAME
            SELECT ? AS SITEID, ? AS EXTRACT_ID, ? AS SOURCE_FILE, {line_of_row} AS SOURCE_LINE,
                   ? AS LOADED_AT, {select_columns}
            FROM {_STAGING_TABLE} s {line_join}""",
        [transfer.site_id, transfer.extract_id, listed.name, loaded_at],
    )
    con.execute(f"DROP TABLE {_STAGING_TABLE}")
    if line_join:
        con.unregister("_record_lines")
    return rows


def _normalized_columns(transfer, file_name: str, header: list[str], domain: str) -> dict[str, str]:
    """Header name as read -> raw column name (upper case, trimmed)."""
    columns: dict[str, str] = {}
    for name in header:
        normalized = name.strip().upper()
        if normalized in LOAD_COLUMNS:
            normalized = f"SRC_{normalized}"  # an extra column must not shadow load metadata
        if normalized in columns.values():
            raise TransferRejected(transfer, "csv-format", f"column {normalized} appears twice in the header", file=file_name, line=1)
        columns[name] = normalized
    missing = [c for c in dts.REQUIRED_COLUMNS[domain] if c not in columns.values()]
    if missing:
        raise TransferRejected(
            transfer, "required-column", f"header lacks required column(s): {', '.join(missing)}", file=file_name, line=1
        )
    return columns


def _line_numbers(con, scanned, rows: int, delimiter: str) -> tuple[str, str]:
    """SQL (expression, join) giving each staged row the file line its record starts on.

    When the file has one line per record (the usual case) that is the row's position plus 2.
    Otherwise (quoted line breaks, blank lines) the record start lines are counted exactly.
    """
    # rowids of a table created inside a transaction start at an offset, hence the base.
    position = f"s.rowid - (SELECT min(rowid) FROM {_STAGING_TABLE})"
    if scanned.physical_lines == rows + 1:
        return f"{position} + 2", ""
    starts = _record_start_lines(scanned.readable_path, delimiter)[:rows]
    con.register("_record_lines", pd.DataFrame({"ROW_POSITION": range(len(starts)), "LINE": starts}))
    return "l.LINE", f"JOIN _record_lines l ON l.ROW_POSITION = {position}"


def _record_start_lines(path: Path, delimiter: str) -> list[int]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        starts, previous_end = [], reader.line_num
        for record in reader:
            if record:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts


def _add_extra_columns(con, domain: str, columns) -> None:
    """Extra (non-DTS) columns are allowed and kept: raw grows a text column for each."""
    existing = raw_columns(con, domain)
    for column in columns:
        if column not in existing:
            con.execute(f'ALTER TABLE {RAW_SCHEMA}.{domain} ADD COLUMN "{column}" VARCHAR')
