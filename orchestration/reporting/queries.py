"""Reading the published marts."""

from __future__ import annotations

import duckdb


def records(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> list[dict]:
    """The query's rows as dicts keyed by column name."""
    cursor = con.execute(sql, parameters or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
