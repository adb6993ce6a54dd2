"""<dataset>.json: CDISC Dataset-JSON v1.1, streamed from the sorted data.

DuckDB writes each row's JSON array (in parallel, in C++), each followed by `,\n`; Python copies a
batch's bytes from DuckDB's Arrow buffer into the file, so memory holds one batch whatever the
dataset's size. The layout is fixed, and the checks rely on it: line 1 is the document up to
`"rows": [`, then one row per line (each but the last followed by a comma), then `]}`. Text values are those of the XPT file (cut to 200 bytes
by the same rule where XPT v5 needs it), a NULL is null, a number that is not finite is null.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.dts import STUDY_ID
from orchestration.exports.xpt import fitted_text, utf8_bytes
from orchestration.sql import identifier
from orchestration.submission.published import Column

DATASET_JSON_VERSION = "1.1.0"
ROWS_PER_CHUNK = 50 * 2048


@dataclass(frozen=True)
class JsonColumn:
    item_oid: str
    name: str
    label: str
    data_type: str  # Dataset-JSON: string | integer | double
    length: int | None = None
    key_sequence: int | None = None

    def record(self) -> dict:
        column = {"itemOID": self.item_oid, "name": self.name, "label": self.label, "dataType": self.data_type}
        if self.length is not None:
            column["length"] = self.length
        if self.key_sequence is not None:
            column["keySequence"] = self.key_sequence
        return column


def json_data_type(column: Column) -> str:
    return {"integer": "integer", "float": "double"}.get(column.kind, "string")


def value_sql(column: Column) -> str:
    q = identifier(column.name)
    if column.kind == "text":
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE {fitted_text(q)} END"
    if column.kind == "float":
        return f"CASE WHEN isfinite({q}) THEN {q}::DOUBLE END"
    return f"{q}::BIGINT"


def write_dataset_json(con: duckdb.DuckDBPyConnection, source: str, columns: list[Column], header: dict,
                       json_columns: list[JsonColumn], path: Path) -> int:
    """Write the file; returns the rows written. `header`: the document's fields but columns and rows
    (records included)."""
    document = {**header, "columns": [c.record() for c in json_columns]}
    first_line = json.dumps(document, ensure_ascii=False)[:-1] + ', "rows": [\n'
    row = f"json_array({', '.join(value_sql(c) for c in columns)})::VARCHAR" if columns else "'[]'"
    written = 0
    with path.open("wb") as out, con.cursor() as reader:  # a connection of its own: `con` may hold a pending result
        out.write(first_line.encode("utf-8"))
        for batch in reader.sql(f"SELECT {row} || ',\n' AS r FROM {source}").to_arrow_reader(ROWS_PER_CHUNK):
            out.write(utf8_bytes(batch.column(0)).tobytes())
            written += batch.num_rows
        if written:
            out.seek(-2, os.SEEK_END)  # the last row's `,\n`
            out.truncate()
            out.write(b"\n")
        out.write(b"]}\n")
    return written


def header_fields(*, name: str, label: str, item_group_oid: str, records: int, created: str, db_modified: str,
                  metadata_version_oid: str, source_version: str, originator: str) -> dict:
    return {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{STUDY_ID}.SDTM.{name}.{created}",
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

