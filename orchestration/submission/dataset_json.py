"""<dataset>.json: CDISC Dataset-JSON v1.1, streamed from the sorted data.

DuckDB writes each row's JSON array (in C++), each followed by `,\n`; Python copies a batch's
bytes from DuckDB's Arrow buffer into the file, so memory holds one batch whatever the dataset's
size. The layout is fixed, and the checks rely on it: line 1 is the document up to
`"rows": [`, then one row per line (each but the last followed by a comma), then `]}`. Text values are those of the XPT file (cut to 200 bytes
by the same rule where XPT v5 needs it), a NULL is null, a number that is not finite is null; a date
or datetime (a SAS number in the XPT file) is ISO 8601 text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from orchestration.dts import STUDY_ID
from orchestration.exports.queued_file import QueuedFile
from orchestration.exports.xpt import DATE_FORMAT, DATETIME_FORMAT, fitted_text, utf8_bytes
from orchestration.sql import identifier
from orchestration.submission.published import Column

DATASET_JSON_VERSION = "1.1.0"


@dataclass(frozen=True)
class JsonColumn:
    item_oid: str
    name: str
    label: str
    data_type: str  # Dataset-JSON: string | integer | double
    length: int | None = None
    key_sequence: int | None = None
    target_data_type: str | None = None  # a date or datetime that is a number in the XPT file: integer
    display_format: str | None = None

    def record(self) -> dict:
        column = {"itemOID": self.item_oid, "name": self.name, "label": self.label, "dataType": self.data_type}
        if self.target_data_type is not None:
            column["targetDataType"] = self.target_data_type
        if self.length is not None:
            column["length"] = self.length
        if self.display_format is not None:
            column["displayFormat"] = self.display_format
        if self.key_sequence is not None:
            column["keySequence"] = self.key_sequence
        return column


class Temporal(NamedTuple):
    data_type: str  # Dataset-JSON's
    iso_format: str  # strftime's, of the ISO 8601 text
    display_format: str  # the SAS format of the XPT file's number (define.xml's def:DisplayFormat)


# a date or datetime column: Dataset-JSON v1.1 writes it as ISO 8601 text of dataType date /
# datetime, with targetDataType integer where the XPT file (and define.xml) hold a SAS number
TEMPORAL = {"date": Temporal("date", "%Y-%m-%d", DATE_FORMAT),
            "datetime": Temporal("datetime", "%Y-%m-%dT%H:%M:%S", DATETIME_FORMAT)}


def json_data_type(column: Column) -> str:
    if column.kind in TEMPORAL:
        return TEMPORAL[column.kind].data_type
    return {"integer": "integer", "float": "double"}.get(column.kind, "string")


def json_column(column: Column, item_oid: str, label: str, length: int | None, key_sequence: int | None) -> JsonColumn:
    temporal = TEMPORAL.get(column.kind)
    return JsonColumn(item_oid, column.name, label, json_data_type(column), length if column.kind == "text" else None,
                      key_sequence, "integer" if temporal else None, temporal.display_format if temporal else None)


def value_sql(column: Column, cut: bool = False) -> str:
    """`cut`: the column has text over 200 bytes (cut as in the XPT file)."""
    q = identifier(column.name)
    if column.kind == "text":
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE {fitted_text(q)} END" if cut else q
    if column.kind == "float":
        return f"CASE WHEN isfinite({q}) THEN {q}::DOUBLE END"
    if column.kind in TEMPORAL:  # an infinite date is missing in the XPT file: null here
        return f"CASE WHEN isfinite({q}) THEN strftime({q}, '{TEMPORAL[column.kind].iso_format}') END"
    return f"{q}::BIGINT"


class DatasetJsonRows:
    """A Dataset-JSON file written from batches of rows holding each row's JSON text (the column
    `select` names): the document's head on opening, each batch's rows, `]}` on closing.
    `header`: the document's fields but columns and rows (records included); `cut`: the text
    columns with values over 200 bytes. `bytes`: the file's size once closed."""

    ROW = "json_row"

    def __init__(self, path: Path, columns: list[Column], header: dict, json_columns: list[JsonColumn],
                 cut: frozenset[str] = frozenset()):
        document = {**header, "columns": [c.record() for c in json_columns]}
        row = f"json_array({', '.join(value_sql(c, c.name in cut) for c in columns)})::VARCHAR" if columns else "'[]'"
        self.select = f"{row} || ',\n' AS {self.ROW}"
        self.rows = 0
        head = (json.dumps(document, ensure_ascii=False)[:-1] + ', "rows": [\n').encode("utf-8")
        self.bytes = len(head)
        self._out = QueuedFile(path)
        self._out.write(head)

    def write(self, batch) -> None:
        rows = utf8_bytes(batch.column(self.ROW))
        self._out.write(rows)
        self.rows += batch.num_rows
        self.bytes += len(rows)

    def __enter__(self) -> "DatasetJsonRows":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                out = self._out.flush()
                if self.rows:
                    out.seek(-2, os.SEEK_END)  # the last row's `,\n`
                    out.truncate()
                    out.write(b"\n")
                    self.bytes -= 1
                out.write(b"]}\n")
                self.bytes += 3
        finally:
            self._out.close()


def header_fields(*, name: str, label: str, item_group_oid: str, records: int, created: str, db_modified: str,
                  metadata_version_oid: str, source_version: str, originator: str, standard: str = "SDTM") -> dict:
    return {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{STUDY_ID}.{standard}.{name}.{created}",
        "dbLastModifiedDateTime": db_modified,
        "originator": originator,
        "sourceSystem": {"name": "regenheart", "version": source_version},
        "studyOID": STUDY_ID,
        "metaDataVersionOID": metadata_version_oid,
        "metaDataRef": "define.xml",
        "itemGroupOID": item_group_oid,
        "records": records,
        "name": name,
        "label": label,
    }

