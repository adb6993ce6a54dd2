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

from orchestration.sql import identifier, literal, qualified
from orchestration.warehouse import connect

SDTM_SCHEMA = "sdtm"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "REAL", "DOUBLE", "DECIMAL"}


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
        """integer | float | text"""
        base = self.duckdb_type.split("(")[0]
        if base in _INTEGER_TYPES:
            return "integer"
        if base in _FLOAT_TYPES:
            return "float"
        return "text"


def table_columns(con: duckdb.DuckDBPyConnection, table: str, schema: str = SDTM_SCHEMA) -> list[Column]:
    return [Column(name, dtype) for name, dtype in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]
    ).fetchall()]


def write_sorted(con: duckdb.DuckDBPyConnection, table: str, order: list[str], target: Path,
                 schema: str = SDTM_SCHEMA) -> int:
    """The table in SDTM order (its keys, --SEQ, then every column; missing first) into a Parquet
    file: the XPT and the Dataset-JSON files are both written from it, so their rows are the same
    rows in the same order, and the table is sorted once."""
    ordering = ", ".join(f"{identifier(c)} NULLS FIRST" for c in order)
    (rows,) = con.execute(
        f"COPY (SELECT * FROM {qualified(schema, table)} ORDER BY {ordering}) TO {literal(str(target))} (FORMAT parquet)"
    ).fetchone()
    return rows


def parquet_source(path: Path) -> str:
    return f"read_parquet({literal(str(path))})"


@dataclass(frozen=True)
class Measures:
    """What define.xml says of the values: per column the longest text in bytes, digits of numbers,
    whether an ISO 8601 value has a time; the distinct values of the codelist columns."""
    rows: int
    text_bytes: dict[str, int]
    number_digits: dict[str, int]  # integer / float: the most digits (Length)
    decimals: dict[str, int]  # float: the most decimals (SignificantDigits)
    has_time: dict[str, bool]
    values: dict[str, set[str]]


def measure(con: duckdb.DuckDBPyConnection, source: str, columns: list[Column], codelist_columns: list[str]) -> Measures:
    parts, keys = ["count(*)"], []
    for c in columns:
        q = identifier(c.name)
        if c.kind == "text":
            parts.append(f"coalesce(max(strlen({q})), 0)")
            keys.append(("text_bytes", c.name))
            parts.append(f"coalesce(bool_or(contains({q}, 'T')), false)")
            keys.append(("has_time", c.name))
        else:
            shown = _number_text(q)
            parts.append(f"coalesce(max(length(ltrim(split_part({shown}, '.', 1), '-')) + length(rtrim(split_part({shown}, '.', 2), '0'))), 1)")
            keys.append(("number_digits", c.name))
            parts.append(f"coalesce(max(length(rtrim(split_part({shown}, '.', 2), '0'))), 0)")
            keys.append(("decimals", c.name))
    row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    found: dict[str, dict] = {"text_bytes": {}, "number_digits": {}, "decimals": {}, "has_time": {}}
    for (kind, name), value in zip(keys, row[1:]):
        found[kind][name] = value
    values = {}
    for name in codelist_columns:
        values[name] = {str(v) for (v,) in con.execute(
            f"SELECT DISTINCT {identifier(name)} FROM {source} WHERE {identifier(name)} IS NOT NULL").fetchall()}
    return Measures(row[0], found["text_bytes"], found["number_digits"], found["decimals"], found["has_time"], values)


def _number_text(quoted: str) -> str:
    """A number as plain decimal text (no exponent), for counting its digits; NULL when it has no
    such text (infinite, or beyond DECIMAL(38, 10))."""
    return f"try_cast({quoted} AS DECIMAL(38, 10))::VARCHAR"


@dataclass(frozen=True)
class TestCodeMeasures:
    """Per test code of a --TESTCD dataset and result column: the longest value (bytes, or digits
    for a number), the most decimals, and the distinct values (for a column with a codelist)."""
    codes: list[str]
    length: dict[tuple[str, str], int]
    decimals: dict[tuple[str, str], int]


def measure_test_codes(con, source: str, test_code: str, columns: list[Column]) -> TestCodeMeasures:
    parts = []
    for c in columns:
        q = identifier(c.name)
        if c.kind == "text":
            parts.append(f"coalesce(max(strlen({q})), 0)")
        else:
            shown = _number_text(q)
            parts.append(f"coalesce(max(length(ltrim(split_part({shown}, '.', 1), '-')) + length(rtrim(split_part({shown}, '.', 2), '0'))), 1)")
        parts.append("0" if c.kind == "text" else f"coalesce(max(length(rtrim(split_part({_number_text(q)}, '.', 2), '0'))), 0)")
    tc = identifier(test_code)
    rows = con.execute(
        f"SELECT {tc}, {', '.join(parts) or '1'} FROM {source} WHERE {tc} IS NOT NULL GROUP BY {tc} ORDER BY {tc}"
    ).fetchall()
    length, decimals = {}, {}
    for code, *measured in rows:
        for i, c in enumerate(columns):
            length[(code, c.name)] = measured[2 * i]
            decimals[(code, c.name)] = measured[2 * i + 1]
    return TestCodeMeasures([r[0] for r in rows], length, decimals)


def file_sizes(folder: Path) -> dict[str, int]:
    return {p.name: os.path.getsize(p) for p in sorted(folder.iterdir()) if p.is_file()}
