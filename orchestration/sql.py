"""Writing names and values into DuckDB SQL: the one place that quotes.

Whatever comes from a delivered file (a header's column names, manifest values, folder names) is
data. Values go to DuckDB as query parameters (`?`, `$name`); a name that must be part of the SQL
text (a column, a table, a file path in ATTACH or COPY, which take no parameter) is quoted here
and nowhere else, so that `A" VARCHAR; DROP TABLE raw.dm; --` is one odd column name, never SQL.
"""

from __future__ import annotations

from pathlib import Path


def identifier(name: str) -> str:
    """A DuckDB identifier that means exactly `name` (double quotes, doubled inside)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"not a usable SQL name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """`schema.table` (or `database.schema.table`), every part quoted."""
    return ".".join(identifier(part) for part in parts)


def literal(value) -> str:
    """A SQL literal for the few places DuckDB takes no parameter (ATTACH, COPY TO, a view)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    return "'" + str(value).replace("'", "''") + "'"
