"""The staging suites' type checks (`expect_column_type_to_be`), made from the staging models'
contract: each column's `data_type` in dbt_project/models/staging/_staging__models.yml (dbt's
manifest), so a column's type is written in that one place.

A staging suite gets one critical check per column of its model, first in the suite, on the
pandas dtype the runner gives the DuckDB type (batch.py's `dataframe`: nullable integers and
booleans, text always `str`). A column whose type has no such dtype (ISSUES, a list of structs,
which the batch queries leave out) gets none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestration.dbt_manifest import MANIFEST_PATH, model_columns

TYPED_SCHEMAS = ("staging",)
PANDAS_DTYPES = {
    "VARCHAR": "str",
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "BOOLEAN": "boolean",
    "DOUBLE": "float64",
    "DATE": "datetime64[us]",
    "TIMESTAMP": "datetime64[us]",
}


def type_expectations(table: str, manifest_path: Path = MANIFEST_PATH) -> list[dict[str, Any]]:
    """The type checks of the suite of `table` ("staging.stg_edc__dm"): none for a table of another
    schema or that no model builds."""
    if table.partition(".")[0] not in TYPED_SCHEMAS:
        return []
    columns = model_columns(manifest_path).get(table, {})
    return [
        _type_expectation(column, entry["data_type"], PANDAS_DTYPES[entry["data_type"]])
        for column, entry in columns.items()
        if entry.get("data_type") in PANDAS_DTYPES
    ]


def _type_expectation(column: str, data_type: str, dtype: str) -> dict[str, Any]:
    return {
        "type": "expect_column_type_to_be",
        "kwargs": {"column": column, "type_": dtype},
        "meta": {"description": f"{column} keeps its contract type, the model's data_type ({data_type} in DuckDB, {dtype} in pandas)."},
        "severity": "critical",
    }
