"""Publishing: copy what analysts read from the build database into a new file, then rename it
over the published one.

The refresh builds everything in a build database beside the published file
(`warehouse.duckdb` -> `warehouse.build.duckdb`). Only after every blocking gate passed are the
published schemas copied into a fresh file, written in DuckDB 1.2's storage format (readable by
any client from 1.2 on), synced, and renamed over REGENHEART_WAREHOUSE. A rename is atomic: a
reader sees the old file or the new one, never a mixture, and a reader's open connection keeps
the file it opened. A refresh that fails or is killed before the rename leaves the published file
as it was.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts", "history")
STORAGE_VERSION = "v1.2.0"
_PARTIAL_MARK = ".publishing-"


def build_database_path(published: Path) -> Path:
    """The build database of a published warehouse file: `<stem>.build<suffix>` beside it."""
    return published.with_name(f"{published.stem}.build{published.suffix or '.duckdb'}")


@dataclass(frozen=True)
class Publication:
    path: Path
    tables: dict[str, int]


def publish(build: duckdb.DuckDBPyConnection, published: Path) -> Publication:
    """Copy the published schemas from `build` into a new file and rename it over `published`."""
    published.parent.mkdir(parents=True, exist_ok=True)
    _remove_partial_files(published)
    partial = published.with_name(f"{published.name}{_PARTIAL_MARK}{uuid.uuid4().hex}")
    alias = "publication"
    tables: dict[str, int] = {}
    build.execute(f"ATTACH '{partial}' AS {alias} (STORAGE_VERSION '{STORAGE_VERSION}')")
    try:
        for schema in PUBLISHED_SCHEMAS:
            build.execute(f"CREATE SCHEMA {alias}.{schema}")
            for (table,) in build.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_type = 'BASE TABLE' "
                "ORDER BY table_name",
                [schema],
            ).fetchall():
                build.execute(f'CREATE TABLE {alias}.{schema}."{table}" AS SELECT * FROM {schema}."{table}"')
                tables[f"{schema}.{table}"] = build.execute(
                    f'SELECT count(*) FROM {alias}.{schema}."{table}"'
                ).fetchone()[0]
    finally:
        build.execute(f"DETACH {alias}")
    fsync(partial)
    os.replace(partial, published)
    fsync(published.parent)
    return Publication(published, tables)


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
