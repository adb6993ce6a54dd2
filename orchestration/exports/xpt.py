"""SAS transport files (XPT version 5) of the ADaM datasets, streamed from DuckDB.

The file is written here, record by record as SAS's TS-140 describes version 5, from the mart read
in chunks: memory holds one chunk, never the dataset (adeff has millions of rows at scale). Dates
and datetimes become SAS numbers in SQL (days / seconds since 1960-01-01) with DATE9. /
DATETIME20. formats; every number is an 8-byte IBM double (exact for every IEEE double in IBM's
range); text is UTF-8, blank-padded to the column's widest value. XPT has no missing text, so a
NULL is written (and reads back) as an empty string; a missing number is SAS's `.`.

Names (8 characters) and labels (40 bytes) are facts of the code and the marts models' yml: one
that does not fit is a bug, checked before anything is written (`check_xpt_columns`). A data value
that version 5 cannot hold never fails the export; it is written by a rule, in the XPT file only,
and counted (`XptWritten.adjustments`):
- text over 200 bytes is cut to its longest prefix of whole characters (code points) that fits in
  200 bytes, never inside a UTF-8 sequence; the column is then 200 bytes wide;
- a number that is infinite (a date or datetime too) or outside the IBM double's range
  (16**-65 <= |x| < 16**63) is written as missing (`.`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.exports.labels import XptVariable
from orchestration.exports.queued_file import QueuedFile
from orchestration.exports.row_order import ordered
from orchestration.sql import identifier, literal, qualified

# Mart table -> dataset label. Also the list of tables exported as XPT.
XPT_DATASETS = {
    "adsl": "Subject-Level Analysis Dataset",
    "adeff": "Efficacy Analysis Dataset",
    "adae": "Adverse Events Analysis Dataset",
}
MAX_NAME_CHARS, MAX_LABEL_BYTES, MAX_TEXT_BYTES = 8, 40, 200
TRUNCATED = f"truncated to {MAX_TEXT_BYTES} bytes"
SET_MISSING = "set missing (infinite or outside the IBM double's range)"
_SAS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "FLOAT", "REAL", "DOUBLE", "DECIMAL",
}
DATE_FORMAT, DATETIME_FORMAT = "DATE9.", "DATETIME20."
ROWS_PER_CHUNK = 20 * 2048  # DuckDB vectors of 2,048 rows; larger batches cost more in fresh memory than they save (measured)
_RECORD = 80
_MISSING = 0x2E << 56  # SAS's missing value `.`, as an IBM double's bits


class XptLimitError(ValueError):
    """A dataset's names or labels do not fit XPT version 5 (or a column has no label)."""


@dataclass(frozen=True)
class XptColumn:
    name: str  # the mart's column
    select: str  # its SQL: a DOUBLE, or for text the value ('' for NULL) fitted to `width` bytes
    width: int | None  # text: the widest value in bytes, at least 1, at most MAX_TEXT_BYTES; None for a number
    sas_format: str = ""
    truncated: int = 0  # text: how many values are over MAX_TEXT_BYTES (cut by `select`)
    fixed: bool = False  # text: every value (NULL as '') is `width` bytes long: nothing to pad


@dataclass(frozen=True)
class XptAdjustment:
    """`values` values of a column that XPT v5 cannot hold, written by `rule` instead."""
    dataset: str
    column: str  # the mart's column
    variable: str  # its name in the XPT file
    rule: str  # TRUNCATED or SET_MISSING
    values: int

    @property
    def file(self) -> str:
        return xpt_file_name(self.dataset)

    def record(self) -> dict[str, str | int]:
        """As the exports' manifest lists it."""
        return {
            "file": self.file, "column": self.column, "variable": self.variable, "rule": self.rule, "values": self.values,
        }


@dataclass(frozen=True)
class XptWritten:
    rows: int
    adjustments: tuple[XptAdjustment, ...]


@dataclass(frozen=True)
class XptPlan:
    table: str
    columns: list[XptColumn]
    rows: int
    label: str = ""  # the dataset's label; XPT_DATASETS' when empty


def xpt_file_name(dataset: str) -> str:
    return f"{dataset}.xpt"


def plan_dataset(
    con: duckdb.DuckDBPyConnection, table: str, schema: str = "marts", source: str | None = None, label: str = "",
) -> XptPlan:
    """The table's columns as XPT variables, with the width of each text column and how many of its
    values are cut to fit. `source`: SQL of the rows to measure (default: the table itself)."""
    columns: list[tuple[str, str | None, str]] = []  # (column, SQL of a number or None for text, format)
    for column, duckdb_type in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall():
        base_type = duckdb_type.split("(")[0]
        quoted = identifier(column)
        if base_type == "DATE":
            days = f"date_diff('day', DATE '1960-01-01', {quoted})::DOUBLE"
            columns.append((column, _infinite_as_infinity(quoted, days), DATE_FORMAT))
        elif base_type == "TIMESTAMP":
            seconds = f"date_diff('microsecond', TIMESTAMP '1960-01-01', {quoted}) / 1e6"
            columns.append((column, _infinite_as_infinity(quoted, seconds), DATETIME_FORMAT))
        elif base_type in _NUMBER_TYPES:
            columns.append((column, f"{quoted}::DOUBLE", ""))
        elif base_type == "VARCHAR":
            columns.append((column, None, ""))
        else:
            raise XptLimitError(f"{table}.{column}: type {duckdb_type} has no XPT representation")
    if not columns:
        raise XptLimitError(f"{table}: no such table in {schema}")
    texts = [column for column, number, _ in columns if number is None]
    measures = [
        f"max(strlen({_text_sql(c)})), count(*) FILTER (WHERE strlen({_text_sql(c)}) > {literal(MAX_TEXT_BYTES)}), "
        f"min(strlen({_text_sql(c)}))"
        for c in texts
    ]
    rows, *measured = con.execute(
        f"SELECT {', '.join(['count(*)', *measures])} FROM {source or qualified(schema, table)}"
    ).fetchone()
    widest, over, shortest = (dict(zip(texts, measured[i::3])) for i in range(3))
    plan = []
    for column, number, sas_format in columns:
        if number is None:
            width = min(max(1, widest[column] or 0), MAX_TEXT_BYTES)
            text = _fitted(_text_sql(column)) if over[column] else _text_sql(column)
            plan.append(XptColumn(column, text, width, truncated=over[column], fixed=shortest[column] == width))
        else:
            plan.append(XptColumn(column, number, None, sas_format))
    return XptPlan(table, plan, rows, label)


def _infinite_as_infinity(quoted: str, number: str) -> str:
    """An infinite date or datetime as an infinite number (written missing, and counted), not
    date_diff's silent NULL."""
    return f"CASE WHEN NOT isfinite({quoted}) THEN 'infinity'::DOUBLE ELSE {number} END"


def _text_sql(column: str) -> str:
    return f"coalesce({identifier(column)}, '')"


def fitted_text(text: str) -> str:
    """SQL of `text` as an XPT v5 file holds it (see _fitted): other writers of the same values use it."""
    return _fitted(text)


def _fitted(text: str) -> str:
    """SQL of `text` cut to its longest prefix of whole characters that fits in MAX_TEXT_BYTES bytes."""
    # left() counts characters (code points) and strlen() bytes: the prefixes that fit are the first
    # k, so their count is the longest one's length. It has at most MAX_TEXT_BYTES characters.
    limit = literal(MAX_TEXT_BYTES)
    longest = f"len(list_filter(range(1, {limit} + 1), lambda k: strlen(left({text}, k)) <= {limit}))"
    return f"CASE WHEN strlen({text}) > {limit} THEN left({text}, {longest}) ELSE {text} END"


def check_xpt_columns(dataset: str, columns: list[str], variables: dict[str, XptVariable]) -> None:
    """Raise XptLimitError naming every column that would not make a valid XPT v5 variable."""
    problems = []
    for column in columns:
        variable = variables.get(column)
        if variable is None:
            problems.append(f"{column}: no label (config.meta.label in its model's yml)")
            continue
        if len(variable.name) > MAX_NAME_CHARS or not _SAS_NAME.fullmatch(variable.name):
            problems.append(
                f"{column}: name {variable.name!r} is not a SAS name of at most {MAX_NAME_CHARS} characters "
                "(set config.meta.xpt_name in its model's yml)"
            )
        if not variable.label or len(variable.label.encode("utf-8")) > MAX_LABEL_BYTES:
            problems.append(f"{column}: label {variable.label!r} is empty or longer than {MAX_LABEL_BYTES} bytes")
    if problems:
        raise XptLimitError(f"{dataset}: cannot be written as XPT v5: " + "; ".join(problems))


def check_xpt_plan(plan: XptPlan, variables: dict[str, XptVariable]) -> None:
    check_xpt_columns(plan.table, [c.name for c in plan.columns], variables)


def write_xpt(
    con: duckdb.DuckDBPyConnection, plan: XptPlan, variables: dict[str, XptVariable], path: Path, source: str | None = None,
) -> XptWritten:
    """Check the dataset's names and labels and write it to `path`, chunk by chunk: its rows, and
    the values written by a rule (cut or set missing), per column.
    `source`: SQL of the mart's rows in their order (default: the mart, sorted)."""
    with XptRecords(path, plan, variables) as xpt, con.cursor() as reader:  # `con` may hold a pending result
        query = (f"SELECT {xpt.select} FROM {source}" if source
                 else ordered(f"SELECT {xpt.select} FROM {qualified('marts', plan.table)}", plan.table))
        for batch in reader.sql(query).to_arrow_reader(ROWS_PER_CHUNK):
            xpt.write(batch)
    return xpt.written


class XptRecords:
    """An XPT file written from batches of rows that hold its record parts (the columns `select`
    names): the headers on opening, then each batch's records, the last record's padding on closing.

    DuckDB makes each row's text part: every text variable blank-padded to its width in bytes, in
    variable order, with 8 blanks where a number goes, so that a batch's parts are one buffer of
    fixed-length records; numpy writes each number's IBM double over its 8 blanks."""

    RECORD = "xpt_record"

    def __init__(self, path: Path, plan: XptPlan, variables: dict[str, XptVariable]):
        check_xpt_plan(plan, variables)
        self.plan, self.variables = plan, variables
        self.length = _record_length(plan.columns)
        self.numbers = [(f"xpt_n{i}", column, _offset(plan.columns, i))
                        for i, column in enumerate(plan.columns) if not column.width]
        self.select = ", ".join([f"{_record_sql(plan.columns)} AS {self.RECORD}",
                                 *(f"{column.select} AS {part}" for part, column, _ in self.numbers)])
        # each number's 8 bytes in the record, as a big-endian integer (the IBM double's bits)
        self._number_slots = np.dtype({"names": [part for part, _, _ in self.numbers], "formats": [">u8"] * len(self.numbers),
                                       "offsets": [offset for _, _, offset in self.numbers], "itemsize": self.length})
        self.rows, self.set_missing = 0, {column.name: 0 for _, column, _ in self.numbers}
        stamp = datetime.now(timezone.utc).strftime("%d%b%y:%H:%M:%S").upper()
        self._out = QueuedFile(path)
        self._out.write(_library_header(stamp))
        self._out.write(_member_header(plan, variables, stamp))

    def write(self, batch: pa.RecordBatch) -> None:
        records = _fixed_length(batch.column(self.RECORD), self.length)
        if self.numbers:
            records = records.copy()  # Arrow's buffer is read only
            slots = records.view(self._number_slots).reshape(-1)
        for part, column, _ in self.numbers:
            numbers = batch.column(part).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)  # NULL -> NaN
            slots[part], unrepresentable = _ibm_doubles(numbers)
            self.set_missing[column.name] += unrepresentable
        self._out.write(records)
        self.rows += batch.num_rows

    @property
    def written(self) -> XptWritten:
        return XptWritten(self.rows, _adjustments(self.plan, self.variables, self.set_missing))

    def __enter__(self) -> "XptRecords":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                _pad(self._out, self.rows * self.length)
        finally:
            self._out.close()  # after an error too: the thread stops; that error is the one raised


def _adjustments(
    plan: XptPlan, variables: dict[str, XptVariable], set_missing: dict[str, int],
) -> tuple[XptAdjustment, ...]:
    """The plan's cut texts and the numbers written missing (`set_missing`: column -> values), in column order."""
    adjustments = []
    for column in plan.columns:
        rule, values = (TRUNCATED, column.truncated) if column.width else (SET_MISSING, set_missing[column.name])
        if values:
            adjustments.append(XptAdjustment(plan.table, column.name, variables[column.name].name, rule, values))
    return tuple(adjustments)


def _record_length(columns: list[XptColumn]) -> int:
    return sum(c.width or 8 for c in columns)


def _header(kind: str, numbers: str = "0" * 30) -> bytes:
    return f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{numbers}  ".encode("ascii")


def _text(value: str, size: int) -> bytes:
    data = value.encode("utf-8")[:size]
    return data + b" " * (size - len(data))


def _library_header(stamp: str) -> bytes:
    first = b"SAS     SAS     SASLIB  9.4     " + _text("Linux", 8) + b" " * 24 + _text(stamp, 16)
    return _header("LIBRARY") + first + _text(stamp, 16) + b" " * 64


def _member_header(plan: XptPlan, variables: dict[str, XptVariable], stamp: str) -> bytes:
    label = plan.label or XPT_DATASETS.get(plan.table, "")
    parts = [
        _header("MEMBER", "000000000000000001600000000140"),
        _header("DSCRPTR"),
        b"SAS     " + _text(plan.table.upper(), 8) + b"SASDATA 9.4     " + _text("Linux", 8) + b" " * 24 + _text(stamp, 16),
        _text(stamp, 16) + b" " * 16 + _text(label, 40) + b" " * 8,
        _header("NAMESTR", f"000000{len(plan.columns):04d}" + "0" * 20),
    ]
    namestrs, position = b"", 0
    for number, column in enumerate(plan.columns, start=1):
        variable = variables[column.name]
        sas_format, width, decimals = _format_parts(column.sas_format)
        namestrs += struct.pack(
            ">hhhh8s40s8shhh2s8shhi52s",
            2 if column.width else 1, 0, column.width or 8, number,
            _text(variable.name, 8), _text(variable.label, 40), _text(sas_format, 8), width, decimals, 0,
            b"  ", b" " * 8, 0, 0, position, b" " * 52,
        )
        position += column.width or 8
    parts.append(namestrs + b" " * (-len(namestrs) % _RECORD))
    parts.append(_header("OBS"))
    return b"".join(parts)


def _format_parts(sas_format: str) -> tuple[str, int, int]:
    """'DATETIME20.' -> ('DATETIME', 20, 0)."""
    match = re.fullmatch(r"([A-Z$]*?)(\d*)\.(\d*)", sas_format)
    if not match:
        return "", 0, 0
    return match[1], int(match[2] or 0), int(match[3] or 0)


def _offset(columns: list[XptColumn], index: int) -> int:
    return sum(c.width or 8 for c in columns[:index])


def _record_sql(columns: list[XptColumn]) -> str:
    """SQL of a record's text: each text blank-padded to its column's width in bytes (rpad counts
    characters, and is slower), 8 blanks for each number."""
    blanks = literal(" " * MAX_TEXT_BYTES)

    def part(c: XptColumn) -> str:
        if not c.width:
            return "'        '"
        return c.select if c.fixed else f"{c.select}, left({blanks}, {c.width} - strlen({c.select}))"

    return f"concat({', '.join(part(c) for c in columns)})"


def _fixed_length(records: pa.Array, length: int) -> np.ndarray:
    """A batch's records as an (rows, length) array of bytes over Arrow's buffer (read only)."""
    _, offsets, data = _text_buffers(records)
    rows = len(records)
    # every part is at least its width: the whole is exactly rows * length only when every record is
    if offsets[-1] - offsets[0] != rows * length:
        raise ValueError(f"XPT records of {(offsets[-1] - offsets[0]) / max(rows, 1):.1f} bytes on average, "
                         f"not {length}: a text is wider than its column (did the data change while writing?)")
    if rows == 0:
        return np.empty((0, length), dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(rows, length)


def _text_buffers(strings: pa.Array) -> tuple[pa.Array, np.ndarray, pa.Buffer | None]:
    """An Arrow text array as (string or large_string array, its offsets, its data buffer)."""
    strings = strings.cast(pa.large_string()) if pa.types.is_string_view(strings.type) else strings
    offsets_type = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    _, offsets, data = strings.buffers()
    return strings, np.frombuffer(offsets, dtype=offsets_type)[strings.offset:strings.offset + len(strings) + 1], data


def utf8_bytes(strings: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of an Arrow text array's values, one after the other (no Python string per
    value: the array's data buffer between its first and last offset)."""
    _, bounds, data = _text_buffers(strings)
    if data is None or len(bounds) < 2:
        return np.empty(0, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)[bounds[0]:bounds[-1]]


def _ibm_doubles(values: np.ndarray) -> tuple[np.ndarray, int]:
    """IEEE doubles -> the bits of IBM System/360 doubles (sign, base-16 exponent + 64, 56-bit
    fraction); NaN (NULL) -> SAS's missing `.`. Exact: 53 bits of mantissa fit in 56.
    A value outside the IBM double's range (16**-65 <= |x| < 16**63), infinity included, is also
    written missing: returned with how many there were."""
    missing, zero = np.isnan(values), values == 0
    bits = np.where(missing | zero, 1.0, values).view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    mantissa = (bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x0010000000000000)
    # value = mantissa * 2**(exponent - 52) = fraction * 2**-56 * 16**quarter, fraction < 2**56
    quarter = -((-(exponent + 1)) // 4)  # ceil((exponent + 1) / 4)
    shift = (exponent + 4 - 4 * quarter).astype(np.uint64)  # 0..3
    ibm_exponent = quarter + 64  # infinity's IEEE exponent (1024) makes it 321: out of range too
    unrepresentable = ~(missing | zero) & ((ibm_exponent < 0) | (ibm_exponent > 127))
    ibm = (sign << np.uint64(63)) | (ibm_exponent.astype(np.uint64) << np.uint64(56)) | (mantissa << shift)
    ibm[zero] = 0
    ibm[missing | unrepresentable] = _MISSING
    return ibm, int(unrepresentable.sum())


def _pad(out: BinaryIO, written: int) -> None:
    out.write(b" " * (-written % _RECORD))
