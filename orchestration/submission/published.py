"""The published warehouse as the package reads it: read only, one connection for the whole cut.

The submission reads the published file only (never the build database): it takes no refresh
lock and never holds up a refresh. A refresh that publishes meanwhile renames a new file over it;
the open connection keeps reading the file it opened, so the package is one publication's data.
That publication is identified by the file itself (path, modification time: when publishing wrote
it, size) and by the transfers it holds (marts.extract_log): conformance.json records them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np

from orchestration.sql import identifier, literal, qualified
from orchestration.warehouse import connect

SDTM_SCHEMA = "sdtm"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "REAL", "DOUBLE", "DECIMAL"}
_TEMPORAL_TYPES = {"DATE": "date", "TIMESTAMP": "datetime"}
# a date's SAS date (days since 1960-01-01), a datetime's SAS datetime (seconds), as the XPT file holds them
_SAS_NUMBER = {
    "date": "date_diff('day', DATE '1960-01-01', {q})",
    "datetime": "date_diff('second', TIMESTAMP '1960-01-01', {q})",
}


class NoPublishedWarehouse(Exception):
    """There is no published warehouse file to cut the package from."""


@dataclass(frozen=True)
class PublishedBuild:
    path: str
    modified: str  # UTC, ISO 8601: when publishing wrote the file
    bytes: int
    latest_transfers: dict[str, str]  # SITEID -> the latest LOADED EXTRACT_ID it holds

    def record(self) -> dict:
        return {"path": self.path, "modified": self.modified, "bytes": self.bytes,
                "latest_transfer_per_site": self.latest_transfers}


def open_published(path: Path) -> tuple[duckdb.DuckDBPyConnection, PublishedBuild]:
    """A read-only connection to the published file and what identifies the file it opened."""
    if not path.is_file():
        raise NoPublishedWarehouse(f"no published warehouse at {path}; run `regenheart refresh` first")
    for _ in range(3):
        before = path.stat()
        con = connect(path, read_only=True)
        after = path.stat()
        if (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns):
            break
        con.close()  # a publication renamed a new file in between: open that one
    modified = datetime.fromtimestamp(after.st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    transfers = {}
    if _has_table(con, "marts", "extract_log"):
        transfers = dict(con.execute(
            "SELECT SITEID, max(EXTRACT_ID) FROM marts.extract_log WHERE STATUS = 'LOADED' GROUP BY SITEID ORDER BY SITEID"
        ).fetchall())
    return con, PublishedBuild(str(path), modified, after.st_size, transfers)


def _has_table(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def published_tables(con: duckdb.DuckDBPyConnection, schema: str = SDTM_SCHEMA) -> list[str]:
    return [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [schema]
    ).fetchall()]


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str

    @property
    def kind(self) -> str:
        """integer | float | date | datetime | text; a date or datetime is a SAS date or datetime
        (a number) in the XPT file (orchestration/exports/xpt.py), ISO 8601 text in Dataset-JSON."""
        base = self.duckdb_type.split("(")[0]
        if base in _INTEGER_TYPES:
            return "integer"
        if base in _FLOAT_TYPES:
            return "float"
        return _TEMPORAL_TYPES.get(base, "text")

    @property
    def numeric(self) -> bool:
        """A number in the XPT file."""
        return self.kind != "text"


def table_columns(con: duckdb.DuckDBPyConnection, table: str, schema: str = SDTM_SCHEMA) -> list[Column]:
    return [Column(name, dtype) for name, dtype in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]
    ).fetchall()]


PART_ROWS = 1_000_000
STORED_RANGES = 1_000  # the most blocks of rows read as stored; more, and the table is sorted
_SUBJECT_ORDER = ["STUDYID", "USUBJID"]


@dataclass(frozen=True)
class _Subjects:
    """A subject dataset's subjects in USUBJID order, with where their rows are stored (rowids)."""
    usubjid: np.ndarray
    first_row: np.ndarray
    last_row: np.ndarray
    rows: np.ndarray


def _subjects(con: duckdb.DuckDBPyConnection, source: str, order: list[str]) -> _Subjects | None:
    """The subjects of a subject dataset (sorted by STUDYID, USUBJID first) of one STUDYID and no
    USUBJID missing, in USUBJID order (byte by byte, as ORDER BY compares them); None for any
    other table."""
    if order[:2] != _SUBJECT_ORDER:
        return None
    studies, missing = con.execute(
        f"SELECT count(DISTINCT STUDYID), count(*) FILTER (WHERE STUDYID IS NULL OR USUBJID IS NULL) FROM {source}").fetchone()
    if studies != 1 or missing:
        return None
    found = con.execute(
        f"SELECT USUBJID, min(rowid) AS first_row, max(rowid) AS last_row, count(*) AS rows FROM {source} "
        "GROUP BY USUBJID ORDER BY USUBJID NULLS FIRST").fetchnumpy()
    return _Subjects(*(np.asarray(found[name]) for name in ("USUBJID", "first_row", "last_row", "rows")))


def sorted_parts(con: duckdb.DuckDBPyConnection, table: str, order: list[str], schema: str = SDTM_SCHEMA) -> list[str]:
    """SQL of the table's rows in SDTM order (its keys, --SEQ; missing first), as consecutive
    parts: the XPT and the Dataset-JSON file are written from one read of each part, in turn, so
    their rows are the same rows in the same order.

    A subject dataset (sorted by STUDYID, USUBJID first) of more than PART_ROWS records, with one
    STUDYID and no USUBJID missing, is cut between subjects into parts of about PART_ROWS records:
    one part after the other is then the whole table in order, and each part's sort fits in
    memory. One sort of all of QS (11.9 M records at 50 x 2,000) spilled to disk under the
    memory limit, and cost a fifth more CPU than its parts (measured). Any other table is one part."""
    source, ordering = qualified(schema, table), ", ".join(f"{identifier(c)} NULLS FIRST" for c in order)
    whole = [f"(SELECT * FROM {source} ORDER BY {ordering})"]
    subjects = _subjects(con, source, order)
    if subjects is None or subjects.rows.sum() <= PART_ROWS:
        return whole
    starts, rows = [], 0  # the first USUBJID of every part but the first
    for usubjid, records in zip(subjects.usubjid.tolist(), subjects.rows.tolist()):
        if rows and rows + records > PART_ROWS:
            starts.append(usubjid)
            rows = 0
        rows += records
    bounds = zip([None, *starts], [*starts, None])
    return [f"(SELECT * FROM {source} WHERE {_subject_range(low, high)} ORDER BY {ordering})" for low, high in bounds]


def stored_parts(con: duckdb.DuckDBPyConnection, table: str, order: list[str], schema: str = SDTM_SCHEMA) -> list[str] | None:
    """SQL of the table's rows as stored, in consecutive parts of at most PART_ROWS rows, when
    they can be read in SDTM order without sorting them; None when they cannot (then sorted_parts).

    The sdtm models insert their rows in the package's order (macros/sdtm.sql record_order): a
    full build every site's at once, an incremental build or publication a changed site's again,
    after the others'. In a subject dataset whose every subject's rows are one block of consecutive
    rowids, the subjects' blocks, taken in USUBJID order and joined where one follows the other in
    the file, are then a few ranges of rows (one per site at most) that are in order read one after
    the other. A scan keeps the stored order; that the rows really come in order is checked as they
    are read (package.OrderCheck). Reading them as stored spares the sort: a fifth of the package's CPU."""
    subjects = _subjects(con, qualified(schema, table), order)
    if subjects is None:
        return None
    first, last = subjects.first_row.astype(np.int64), subjects.last_row.astype(np.int64)
    if (last - first + 1 != subjects.rows).any():
        return None  # a subject's rows are not one block
    # a range starts at every subject whose block does not follow the previous subject's in the file
    starts = np.flatnonzero(np.concatenate([[True], first[1:] != last[:-1] + 1]))
    if len(starts) > STORED_RANGES:
        return None
    ranges = zip(first[starts].tolist(), last[np.append(starts[1:] - 1, len(last) - 1)].tolist())
    source = qualified(schema, table)
    return [f"(SELECT * FROM {source} WHERE rowid BETWEEN {start} AND {min(start + PART_ROWS - 1, high)})"
            for low, high in ranges for start in range(low, high + 1, PART_ROWS)]


def order_key(order: list[str]) -> str:
    """SQL of a row's sort key under ORDER BY `order` NULLS FIRST: sort keys compare byte by byte
    as the rows sort."""
    ascending = literal("ASC NULLS FIRST")
    return f"create_sort_key({', '.join(f'{identifier(c)}, {ascending}' for c in order)})"


def _subject_range(low: str | None, high: str | None) -> str:
    """USUBJID in [low, high), compared as ORDER BY compares them (byte by byte)."""
    parts = [f"USUBJID >= {literal(low)}" if low is not None else "", f"USUBJID < {literal(high)}" if high is not None else ""]
    return " AND ".join(p for p in parts if p) or "true"


@dataclass(frozen=True)
class Measures:
    """What define.xml says of the values besides text lengths (the XPT widths): digits of
    numbers, whether an ISO 8601 value has a time; the distinct values of the codelist columns."""
    rows: int
    number_digits: dict[str, int]  # integer / float: the most digits (Length)
    decimals: dict[str, int]  # float: the most decimals (SignificantDigits)
    has_time: dict[str, bool]
    values: dict[str, set[str]]


def measure(con: duckdb.DuckDBPyConnection, table: str, columns: list[Column], codelist_columns: list[str],
            schema: str = SDTM_SCHEMA) -> Measures:
    """Numbers are measured on their distinct values (few, next to the rows)."""
    source = qualified(schema, table)
    parts, keys = ["count(*)"], []
    for c in columns:
        q = identifier(c.name)
        if c.kind == "text" and c.name.endswith("DTC"):
            parts.append(f"coalesce(bool_or(contains({q}, 'T')), false)")
            keys.append(("has_time", c.name))
        elif c.kind == "integer":
            parts.append(f"coalesce(length(max(abs({q}::HUGEINT))::VARCHAR), 1)")
            keys.append(("number_digits", c.name))
        elif c.kind in _SAS_NUMBER:
            number = _SAS_NUMBER[c.kind].format(q=q)
            parts.append(f"coalesce(length(max(abs({number}::HUGEINT)) FILTER (WHERE isfinite({q}))::VARCHAR), 1)")
            keys.append(("number_digits", c.name))
    row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    found: dict[str, dict] = {"number_digits": {}, "decimals": {}, "has_time": {}}
    for (kind, name), value in zip(keys, row[1:]):
        found[kind][name] = value
    for c in columns:
        if c.kind in ("integer", *_SAS_NUMBER):
            found["decimals"][c.name] = 0
        elif c.kind == "float":
            found["number_digits"][c.name], found["decimals"][c.name] = con.execute(
                f"SELECT {_DIGITS_AND_DECIMALS} FROM (SELECT DISTINCT {identifier(c.name)} AS v FROM {source})").fetchone()
    values = {}
    for name in codelist_columns:
        values[name] = {coded_value(v) for (v,) in con.execute(
            f"SELECT DISTINCT {identifier(name)} FROM {source} WHERE {identifier(name)} IS NOT NULL").fetchall()}
    return Measures(row[0], found["number_digits"], found["decimals"], found["has_time"], values)


def coded_value(value) -> str:
    """A value as a codelist's CodedValue writes it: a number without a needless ".0" (1.0 is "1")."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number_text(quoted: str) -> str:
    """A number as plain decimal text (no exponent), for counting its digits; NULL when it has no
    such text (infinite, or beyond DECIMAL(38, 10))."""
    return f"try_cast({quoted} AS DECIMAL(38, 10))::VARCHAR"


_SHOWN = _number_text("v")
# aggregates over the numbers `v`: the most digits (at least 1) and the most decimals (define.xml's
# Length and SignificantDigits)
_DIGITS_AND_DECIMALS = (
    f"coalesce(max(length(ltrim(split_part({_SHOWN}, '.', 1), '-')) + length(rtrim(split_part({_SHOWN}, '.', 2), '0'))), 1), "
    f"coalesce(max(length(rtrim(split_part({_SHOWN}, '.', 2), '0'))), 0)"
)


@dataclass(frozen=True)
class TestCodeMeasures:
    """Per test code of a --TESTCD dataset and result column: the longest value (bytes, or digits
    for a number), the most decimals, and the distinct values (for a column with a codelist)."""
    codes: list[str]
    length: dict[tuple[str, str], int]
    decimals: dict[tuple[str, str], int]


def measure_test_codes(con, source: str, test_code: str, columns: list[Column]) -> TestCodeMeasures:
    """Text: the longest value per test code; numbers: digits and decimals per test code, measured
    on the distinct (test code, value) pairs (few, next to the rows)."""
    tc = identifier(test_code)
    texts = [c for c in columns if c.kind == "text"]
    found = con.execute(
        f"SELECT {tc}, {', '.join([f'coalesce(max(strlen({identifier(c.name)})), 0)' for c in texts]) or '1'} "
        f"FROM {source} WHERE {tc} IS NOT NULL GROUP BY {tc} ORDER BY {tc}"
    ).fetchall()
    codes = [row[0] for row in found]
    length, decimals = {}, {}
    for code, *measured in found:
        for c, value in zip(texts, measured):
            length[(code, c.name)], decimals[(code, c.name)] = value, 0
    for c in columns:
        if c.kind == "text":
            continue
        for code, digits, places in con.execute(
            f"SELECT code, {_DIGITS_AND_DECIMALS} FROM (SELECT DISTINCT {tc} AS code, {identifier(c.name)} AS v FROM {source} WHERE {tc} IS NOT NULL) GROUP BY code"
        ).fetchall():
            length[(code, c.name)], decimals[(code, c.name)] = digits, places
    return TestCodeMeasures(codes, length, decimals)


def file_sizes(folder: Path) -> dict[str, int]:
    return {p.name: os.path.getsize(p) for p in sorted(folder.iterdir()) if p.is_file()}
