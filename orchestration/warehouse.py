"""The DuckDB warehouse file: connecting, and the raw layer's bookkeeping tables."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration import dts
from orchestration.settings import duckdb_memory_limit, duckdb_temp_directory
from orchestration.sql import identifier, qualified

RAW_SCHEMA = "raw"
LOAD_COLUMNS = ("SITEID", "EXTRACT_ID", "SOURCE_FILE", "SOURCE_LINE", "LOADED_AT")

TRANSFER_LOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.transfer_log (
    SITEID VARCHAR NOT NULL,
    EXTRACT_ID VARCHAR NOT NULL,
    STATUS VARCHAR NOT NULL,
    REASON VARCHAR,
    RULE VARCHAR,
    REJECTED_FILE VARCHAR,
    REJECTED_LINE BIGINT,
    FILES INTEGER,
    ROWS BIGINT,
    LOADED_AT TIMESTAMP NOT NULL,
    EXTRACTED_AT VARCHAR,
    ENCODING VARCHAR,
    DELIMITER VARCHAR,
    DECIMAL_SEPARATOR VARCHAR,
    DTS_VERSION VARCHAR,
    MANIFEST VARCHAR,
    PRIMARY KEY (SITEID, EXTRACT_ID)
)
"""
# Added to the transfer log later (a build database from before gets them, NULL on its old rows):
# what the transfer looked like when it was logged, so that bytes replaced later are noticed.
TRANSFER_LOG_ADDED_COLUMNS = {"MANIFEST_SHA256": "VARCHAR", "FILE_SIZES": "VARCHAR"}
LANDING_CHANGES_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.landing_changes (
    SITEID VARCHAR NOT NULL,
    EXTRACT_ID VARCHAR NOT NULL,
    NOTICED_AT TIMESTAMP NOT NULL,
    FINGERPRINT VARCHAR NOT NULL,
    DETAIL VARCHAR NOT NULL,
    PRIMARY KEY (SITEID, EXTRACT_ID, FINGERPRINT)
)
"""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file, DuckDB's memory bounded by REGENHEART_DUCKDB_MEMORY_LIMIT;
    what does not fit spills to `<file>.tmp/` beside it (created by DuckDB when it first spills)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute(f"SET memory_limit = '{duckdb_memory_limit()}'")
    # `<file>.tmp/` is DuckDB's own default, set so that it stays there whatever the default becomes;
    # only when it differs: DuckDB refuses to set it again once used, even to the same folder, and
    # a second connection to the file in this process shares the first one's database
    temp_directory = str(duckdb_temp_directory(path.absolute()))
    if con.execute("SELECT current_setting('temp_directory')").fetchone() != (temp_directory,):
        con.execute("SET temp_directory = ?", [temp_directory])
    return con


def ensure_raw_layer(con: duckdb.DuckDBPyConnection) -> None:
    """The raw schema with the transfer log and one table per DTS file (empty until a load)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(TRANSFER_LOG_DDL)
    for column, sql_type in TRANSFER_LOG_ADDED_COLUMNS.items():
        con.execute(f"ALTER TABLE {RAW_SCHEMA}.transfer_log ADD COLUMN IF NOT EXISTS {identifier(column)} {sql_type}")
    con.execute(LANDING_CHANGES_DDL)
    for domain, columns in dts.REQUIRED_COLUMNS.items():
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {qualified(RAW_SCHEMA, domain)} (
                SITEID VARCHAR NOT NULL, EXTRACT_ID VARCHAR NOT NULL, SOURCE_FILE VARCHAR NOT NULL,
                SOURCE_LINE BIGINT NOT NULL, LOADED_AT TIMESTAMP NOT NULL,
                {", ".join(f"{identifier(c)} VARCHAR" for c in columns)})"""
        )


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """The columns of schema.table, in their order."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]


def raw_columns(con: duckdb.DuckDBPyConnection, domain: str) -> set[str]:
    return set(table_columns(con, RAW_SCHEMA, domain))
