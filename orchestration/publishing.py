"""Publishing: copy what analysts read from the build database into a new file, then rename it
over the published one.

The refresh builds everything in a build database beside the published file
(`warehouse.duckdb` -> `warehouse.build.duckdb`). Only after every blocking gate passed are the
published schemas copied into a fresh file, written in DuckDB 1.2's storage format (readable by
any client from 1.2 on), synced, and renamed over REGENHEART_WAREHOUSE. A rename is atomic: a
reader sees the old file or the new one, never a mixture, and a reader's open connection keeps
the file it opened. A refresh that fails or is killed before the rename leaves the published file
as it was.

When only some sites changed since the last publication (same code, `sites` given), the new file
starts as a copy of the published one, and only what changed is written into it: the rows of the
changed sites in every table with a site (SITEID, or the site part of USUBJID), the tables
without one (the cross-site summaries) whole. Every other site's rows are those the last
publication copied, which are still the build database's (a site's rows come from its transfers
only, and the code is the same). Each table's row count is then compared with the build
database's; a difference publishes every table from scratch instead. Row order is not part of a
table (a changed site's rows come last); the exports sort.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.sql import identifier, literal, qualified

PUBLISHED_SCHEMAS = ("marts", "history", "sdtm", "adam")
STORAGE_VERSION = "v1.2.0"
_PARTIAL_MARK = ".publishing-"
COPY_WORKERS = 2


def build_database_path(published: Path) -> Path:
    """The build database of a published warehouse file: `<stem>.build<suffix>` beside it."""
    return published.with_name(f"{published.stem}.build{published.suffix or '.duckdb'}")


@dataclass(frozen=True)
class Publication:
    path: Path
    tables: dict[str, int]
    incremental: bool = False  # only the changed sites' rows were copied again


def publish(build: duckdb.DuckDBPyConnection, published: Path, sites: list[str] | None = None) -> Publication:
    """Copy the published schemas from `build` into a new file and rename it over `published`.

    `sites`: the sites changed since the published file was built (None: every site); with a
    published file in place, only their rows are copied again."""
    published.parent.mkdir(parents=True, exist_ok=True)
    _remove_partial_files(published)
    partial = published.with_name(f"{published.name}{_PARTIAL_MARK}{uuid.uuid4().hex}")
    incremental = sites is not None and published.is_file()
    if incremental:
        shutil.copyfile(published, partial)
    tables = _copy_tables(build, partial, sites if incremental else None)
    if incremental and tables != _row_counts(build):
        partial.unlink()
        tables = _copy_tables(build, partial, None)
        incremental = False
    fsync(partial)
    os.replace(partial, published)
    fsync(published.parent)
    return Publication(published, tables, incremental)


def _copy_tables(build: duckdb.DuckDBPyConnection, partial: Path, sites: list[str] | None) -> dict[str, int]:
    """Every published table into `partial` (a new file), or, with `sites`, into a copy of the
    published file: those sites' rows and the tables without a site. Row counts by table.

    COPY_WORKERS tables are copied at a time, the largest first, each on a cursor of its own:
    DuckDB compresses a table's columns as it writes them, which keeps one table's copy from
    using every core."""
    alias = "publication"
    options = "" if sites is not None else f" (STORAGE_VERSION '{STORAGE_VERSION}')"
    build.execute(f"ATTACH {literal(partial)} AS {identifier(alias)}{options}")
    database = build.execute("SELECT current_database()").fetchone()[0]
    try:
        largest_first = _published_tables(build, largest_first=True)
        for schema in sorted({schema for schema, _ in largest_first}):
            build.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified(alias, schema)}")

        def copy(schema_table: tuple[str, str]) -> int:
            with build.cursor() as cursor:
                return _copy_table(cursor, database, alias, *schema_table, sites)

        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            counts = dict(zip(largest_first, pool.map(copy, largest_first)))
        tables = {f"{schema}.{table}": counts[(schema, table)] for schema, table in sorted(counts)}
        if sites is not None:
            for schema, table in _published_tables(build, alias):
                if f"{schema}.{table}" not in tables:  # gone from the build database
                    build.execute(f"DROP TABLE {qualified(alias, schema, table)}")
    finally:
        build.execute(f"DETACH {identifier(alias)}")
    return tables


def _copy_table(build, database: str, alias: str, schema: str, table: str, sites: list[str] | None) -> int:
    """One table into the publication: with `sites`, their rows again (a table without a site, or
    whose columns changed, whole); its row count there."""
    source, target = qualified(schema, table), qualified(alias, schema, table)
    columns = _columns(build, database, schema, table)
    site = _site_expression([name for name, _ in columns]) if sites is not None else None
    if site is not None and columns == _columns(build, alias, schema, table):
        scope = f"{site} IN (SELECT unnest(?::VARCHAR[]))"
        build.execute(f"DELETE FROM {target} WHERE {scope}", [sites])
        build.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {scope}", [sites])
    else:
        build.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
    return build.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def _published_tables(
    con: duckdb.DuckDBPyConnection, database: str | None = None, *, largest_first: bool = False
) -> list[tuple[str, str]]:
    size_first = "estimated_size DESC, " if largest_first else ""
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = coalesce(?, current_database()) AND schema_name IN (SELECT unnest(?::VARCHAR[])) "
        f"ORDER BY {size_first}schema_name, table_name",
        [database, list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


def _site_expression(names: list[str]) -> str | None:
    """SQL giving a row's site from a table's columns `names`: SITEID, else the site part of USUBJID
    (NCT04325594-<SITEID>-<SUBJID>); None for a table without either (copied whole)."""
    if "SITEID" in names:
        return "SITEID"
    if "USUBJID" in names:
        return "split_part(USUBJID, '-', 2)"
    return None


def _row_counts(build: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        f"{schema}.{table}": build.execute(f"SELECT count(*) FROM {qualified(schema, table)}").fetchone()[0]
        for schema, table in _published_tables(build)
    }


def _remove_partial_files(published: Path) -> None:
    # Left by a refresh killed while publishing; never the published file itself.
    for leftover in published.parent.glob(f"{published.name}{_PARTIAL_MARK}*"):
        leftover.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
