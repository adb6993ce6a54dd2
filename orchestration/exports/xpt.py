"""SAS transport files (XPT version 5) of the ADaM datasets, written with pyreadstat.

pyreadstat writes a datetime64 column as a SAS datetime whatever its format, and DuckDB hands DATE
columns to pandas as datetime64: so the SAS numbers are computed in SQL (days / seconds since
1960-01-01) and given DATE9. / DATETIME20. formats. Numbers become doubles (XPT has no other
numeric type). Text stays text: XPT has no missing text, so a NULL is written (and read back) as
an empty string. pyreadstat itself does not enforce version 5's limits (it cuts a label at 40
bytes and writes text over 200 bytes), hence `check_xpt_frame`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyreadstat

from orchestration.exports.labels import XptVariable

# Mart table -> dataset label. Also the list of tables exported as XPT.
XPT_DATASETS = {
    "adsl": "Subject-Level Analysis Dataset",
    "adeff": "Efficacy Analysis Dataset",
    "adae": "Adverse Events Analysis Dataset",
}
MAX_NAME_CHARS, MAX_LABEL_BYTES, MAX_TEXT_BYTES = 8, 40, 200
_SAS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "FLOAT", "REAL", "DOUBLE", "DECIMAL",
}
DATE_FORMAT, DATETIME_FORMAT = "DATE9.", "DATETIME20."


class XptLimitError(ValueError):
    """A dataset does not fit XPT version 5 (or a column has no label)."""


@dataclass(frozen=True)
class XptDataset:
    table: str
    frame: pd.DataFrame  # mart column names, SAS values
    formats: dict[str, str]  # mart column -> SAS format


def read_dataset(con: duckdb.DuckDBPyConnection, table: str) -> XptDataset:
    """The mart's rows, in its order, with dates and datetimes as SAS numbers."""
    selects, formats, text = [], {}, []
    for column, duckdb_type in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall():
        base_type = duckdb_type.split("(")[0]
        quoted = f'"{column}"'
        if base_type == "DATE":
            selects.append(f"date_diff('day', DATE '1960-01-01', {quoted})::DOUBLE AS {quoted}")
            formats[column] = DATE_FORMAT
        elif base_type == "TIMESTAMP":
            selects.append(f"date_diff('microsecond', TIMESTAMP '1960-01-01', {quoted}) / 1e6 AS {quoted}")
            formats[column] = DATETIME_FORMAT
        elif base_type in _NUMBER_TYPES:
            selects.append(f"{quoted}::DOUBLE AS {quoted}")
        elif base_type == "VARCHAR":
            selects.append(quoted)
            text.append(column)
        else:
            raise XptLimitError(f"{table}.{column}: type {duckdb_type} has no XPT representation")
    if not selects:
        raise XptLimitError(f"{table}: no such table in marts")
    frame = con.execute(f'SELECT {", ".join(selects)} FROM marts."{table}"').df()
    # pyreadstat writes no rows at all when an object column holds only None: keep text typed as text.
    frame[text] = frame[text].astype("str")
    return XptDataset(table, frame, formats)


def check_xpt_frame(dataset: str, frame: pd.DataFrame, variables: dict[str, XptVariable]) -> None:
    """Raise XptLimitError naming every column that would not make a valid XPT v5 variable."""
    problems = []
    for column in frame.columns:
        variable = variables.get(column)
        if variable is None:
            problems.append(f"{column}: no label in variable_labels.csv")
            continue
        if len(variable.name) > MAX_NAME_CHARS or not _SAS_NAME.fullmatch(variable.name):
            problems.append(
                f"{column}: name {variable.name!r} is not a SAS name of at most {MAX_NAME_CHARS} characters "
                "(set XPTNAME in variable_labels.csv)"
            )
        if not variable.label or len(variable.label.encode("utf-8")) > MAX_LABEL_BYTES:
            problems.append(f"{column}: label {variable.label!r} is empty or longer than {MAX_LABEL_BYTES} bytes")
        if pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
            widest = frame[column].dropna().astype("str").str.encode("utf-8").str.len().max()
            if pd.notna(widest) and widest > MAX_TEXT_BYTES:
                problems.append(f"{column}: a value of {widest} bytes (XPT v5 holds at most {MAX_TEXT_BYTES})")
    if problems:
        raise XptLimitError(f"{dataset}: cannot be written as XPT v5: " + "; ".join(problems))


def write_xpt(dataset: XptDataset, variables: dict[str, XptVariable], path: Path) -> int:
    """Check `dataset` against XPT v5's limits and write it to `path`; the number of rows."""
    check_xpt_frame(dataset.table, dataset.frame, variables)
    columns = list(dataset.frame.columns)
    frame = dataset.frame.rename(columns={c: variables[c].name for c in columns})
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=XPT_DATASETS.get(dataset.table, ""),
        table_name=dataset.table.upper(),
        file_format_version=5,
        column_labels=[variables[c].label for c in columns],
        variable_format={variables[c].name: f for c, f in dataset.formats.items()},
    )
    return len(frame)
