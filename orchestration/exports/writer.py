"""write_exports: every marts table as Parquet and CSV, the ADaM datasets as XPT v5."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.exports.files import (
    MANIFEST, atomic_file, previous_files, remove_partial_files, sync_folder, write_manifest,
)
from orchestration.exports.labels import load_variables
from orchestration.exports.row_order import ordered
from orchestration.exports.xpt import (
    XPT_DATASETS, XptAdjustment, XptWritten, check_xpt_plan, plan_dataset, write_xpt, xpt_file_name,
)
from orchestration.sql import literal, qualified
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
    # Values an XPT file holds cut or missing (XPT v5 cannot hold them); the CSV and Parquet keep them whole.
    xpt_adjustments: tuple[XptAdjustment, ...] = ()


def write_exports(published: Path, out_dir: Path, *, publication: str | None = None) -> Exports:
    """Write the exports of the published warehouse file `published` into `out_dir`.
    `publication`: which publication of the file this is, recorded in the manifest."""
    if not published.is_file():
        raise FileNotFoundError(f"no published warehouse at {published}")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(out_dir)
    con = connect(published, read_only=True)
    try:
        tables = _marts_tables(con)
        # Read and check the XPT datasets before writing anything: a name or label that does not
        # fit XPT v5 (a bug, not data) fails the export with every file of the previous one left as it was.
        variables = load_variables()
        plans = [plan_dataset(con, table) for table in XPT_DATASETS]
        for plan in plans:
            check_xpt_plan(plan, variables.get(plan.table, {}))
        # Each mart is sorted once, into its Parquet file; the CSV and XPT files read that file.
        # The XPT files are written on a second connection while DuckDB writes the CSV files:
        # much of XPT writing is Python, on one core, while DuckDB's COPY uses every core.
        xpt_plans = {plan.table: plan for plan in plans}
        files: dict[str, int] = {}
        adjustments: list[XptAdjustment] = []
        xpt_con = con.cursor()
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                xpt_files = []
                for table in sorted(tables, key=lambda t: t not in xpt_plans):  # the XPT datasets first
                    parquet = out_dir / f"{table}.parquet"
                    query = ordered(f"SELECT * FROM {qualified(MARTS_SCHEMA, table)}", table)
                    files[parquet.name] = _copy(con, query, parquet, PARQUET_OPTIONS)
                    in_order = f"read_parquet({literal(parquet)})"
                    if table in xpt_plans:
                        xpt_files.append(pool.submit(
                            _write_xpt_file, xpt_con, xpt_plans[table], variables[table], out_dir, in_order))
                    files[f"{table}.csv"] = _copy(con, f"SELECT * FROM {in_order}", out_dir / f"{table}.csv", CSV_OPTIONS)
                for future in xpt_files:
                    name, written = future.result()
                    files[name] = written.rows
                    adjustments.extend(written.adjustments)
        finally:
            xpt_con.close()
    finally:
        con.close()
    removed = _remove_stale(out_dir, previous_files(out_dir) - set(files))
    write_manifest(out_dir, published, files, [a.record() for a in adjustments], publication)
    sync_folder(out_dir)
    return Exports(out_dir, files, removed, tuple(adjustments))


def _write_xpt_file(
    con: duckdb.DuckDBPyConnection, plan, variables, out_dir: Path, source: str,
) -> tuple[str, XptWritten]:
    name = xpt_file_name(plan.table)
    with atomic_file(out_dir / name) as partial:
        return name, write_xpt(con, plan, variables, partial, source)


def _marts_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        table
        for (table,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path, options: str) -> int:
    with atomic_file(target) as partial:
        (rows,) = con.execute(f"COPY ({query}) TO {literal(partial)} ({options})").fetchone()
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
