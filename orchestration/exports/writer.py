"""write_exports: every marts table as Parquet and CSV, the ADaM datasets as XPT v5."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.exports.files import (
    MANIFEST, atomic_file, previous_files, remove_partial_files, sync_folder, write_manifest,
)
from orchestration.exports.labels import load_variables
from orchestration.exports.xpt import XPT_DATASETS, check_xpt_plan, plan_dataset, write_xpt
from orchestration.warehouse import connect

MARTS_SCHEMA = "marts"
PARQUET_OPTIONS = "FORMAT parquet"
# UTF-8, NULL as an empty field, dates YYYY-MM-DD, timestamps YYYY-MM-DD HH:MM:SS[.ffffff].
CSV_OPTIONS = "FORMAT csv, HEADER, DATEFORMAT '%Y-%m-%d'"


@dataclass(frozen=True)
class Exports:
    folder: Path
    files: dict[str, int]  # file name -> rows
    removed: tuple[str, ...] = ()


def write_exports(published: Path, out_dir: Path) -> Exports:
    """Write the exports of the published warehouse file `published` into `out_dir`."""
    if not published.is_file():
        raise FileNotFoundError(f"no published warehouse at {published}")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(out_dir)
    con = connect(published, read_only=True)
    try:
        tables = _marts_tables(con)
        # Read and check the XPT datasets before writing anything: a dataset that does not fit
        # XPT v5 fails the export with every file of the previous one left as it was.
        variables = load_variables()
        plans = [plan_dataset(con, table) for table in XPT_DATASETS]
        for plan in plans:
            check_xpt_plan(plan, variables.get(plan.table, {}))
        files: dict[str, int] = {}
        for table in tables:
            files[f"{table}.parquet"] = _copy(con, table, out_dir / f"{table}.parquet", PARQUET_OPTIONS)
            files[f"{table}.csv"] = _copy(con, table, out_dir / f"{table}.csv", CSV_OPTIONS)
        for plan in plans:
            with atomic_file(out_dir / f"{plan.table}.xpt") as partial:
                files[f"{plan.table}.xpt"] = write_xpt(con, plan, variables[plan.table], partial)
    finally:
        con.close()
    removed = _remove_stale(out_dir, previous_files(out_dir) - set(files))
    write_manifest(out_dir, published, files)
    sync_folder(out_dir)
    return Exports(out_dir, files, removed)


def _marts_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        table
        for (table,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]


def _copy(con: duckdb.DuckDBPyConnection, table: str, target: Path, options: str) -> int:
    with atomic_file(target) as partial:
        path = str(partial).replace("'", "''")
        (rows,) = con.execute(f"COPY (SELECT * FROM {MARTS_SCHEMA}.\"{table}\") TO '{path}' ({options})").fetchone()
    return rows


def _remove_stale(out_dir: Path, names: set[str]) -> tuple[str, ...]:
    """Files an earlier export wrote that this one did not (their table left marts)."""
    removed = []
    for name in sorted(names - {MANIFEST}):
        path = out_dir / name
        # Only plain names the manifest could have held: never a path outside out_dir.
        if path.parent == out_dir and path.is_file():
            path.unlink()
            removed.append(name)
    return tuple(removed)
