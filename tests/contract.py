"""The warehouse contract's published tables (schema marts): every column with its type, from the
marts models' yml (dbt's manifest: each column's `data_type`) — written there once."""

from orchestration.dbt_manifest import model_columns

TEXT, DATE, TIMESTAMP, NUMBER, INTEGER = "text", "date", "timestamp", "number", "integer"

# The contract's tables (README, "Analyst queries"); transfer_changes is published too, for data managers.
TABLES = ("adsl", "adeff", "adae", "subject_visits", "efficacy_summary", "safety_summary", "data_issues", "extract_log")

_FAMILIES = {
    TEXT: ("VARCHAR",),
    DATE: ("DATE",),
    TIMESTAMP: ("TIMESTAMP",),
    INTEGER: ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
}
_FAMILIES[NUMBER] = ("DOUBLE", "FLOAT", "REAL") + _FAMILIES[INTEGER]


def type_matches(family: str, duckdb_type: str) -> bool:
    base = duckdb_type.split("(")[0].upper()
    return base in _FAMILIES[family] or (family == NUMBER and base == "DECIMAL")


def family(duckdb_type: str) -> str:
    """The narrowest family of a DuckDB type (INTEGER before NUMBER)."""
    return next(f for f in (TEXT, DATE, TIMESTAMP, INTEGER, NUMBER) if type_matches(f, duckdb_type))


_MODELS = model_columns()
# table -> column -> its exact DuckDB type, in the table's order
DATA_TYPES = {table: {c: entry["data_type"] for c, entry in _MODELS[f"marts.{table}"].items()} for table in TABLES}
# table -> column -> its type family
MARTS = {table: {c: family(t) for c, t in columns.items()} for table, columns in DATA_TYPES.items()}
# subject_visits has a column per efficacy parameter (PARAMCD), between its visit and NPARAM
PARAMCDS = tuple(c for c in MARTS["subject_visits"] if c not in ("USUBJID", "AVISIT", "AVISITN", "NPARAM"))
