"""What the published build was made from, so that a refresh with nothing new rebuilds nothing.

A build's fingerprint is a digest of every transfer seen (site, extract, status) and of the code
that turns them into the warehouse (the dbt project with its seeds, the GX suites, the Python
package). Publishing records it in the build database (`ops.publications`). A refresh that sees no
new transfer and finds the published file made from the same fingerprint stops after ingestion:
the published warehouse is already what a rebuild would give. New code (a model, a rule, a suite)
changes the fingerprint, so the next refresh rebuilds even without a new transfer.

The publication also records its code digest and transfers, so that a refresh with the same code
knows which sites changed since: only those sites' staging rows are rebuilt and only their rows
of history, staging and marts are validated again (`sites_changed_since_publication`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT
from orchestration.warehouse import RAW_SCHEMA

PUBLICATIONS_TABLE = "ops.publications"
REBUILT_SITES_TABLE = "ops.rebuilt_sites"
NOTHING_NEW = "nothing new since the last publication: the published warehouse is current, nothing to rebuild"
_CODE_FOLDERS = (DBT_PROJECT_DIR, REPO_ROOT / "expectations", REPO_ROOT / "orchestration")
_CODE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".json", ".py"}
_GENERATED = {"target", "logs", "dbt_packages", "__pycache__"}


@functools.cache
def code_digest() -> str:
    digest = hashlib.sha256()
    for folder in _CODE_FOLDERS:
        for path in sorted(folder.rglob("*")):
            if path.suffix in _CODE_SUFFIXES and path.is_file() and not _GENERATED & set(path.relative_to(folder).parts):
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _transfers(con) -> list[tuple[str, str, str]]:
    return con.execute(f"SELECT SITEID, EXTRACT_ID, STATUS FROM {RAW_SCHEMA}.transfer_log ORDER BY ALL").fetchall()


def current_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    return hashlib.sha256(f"{code_digest()}|{_transfers(con)!r}".encode()).hexdigest()


def sites_changed_since_publication(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The sites with a transfer (loaded or rejected) that the last publication was not built
    from, when that publication was built by this code; None when every site must be rebuilt and
    validated: nothing published yet, or published by other code (a model, rule or suite changed)."""
    _ensure_table(con)
    row = con.execute(
        f"SELECT CODE_DIGEST, TRANSFERS FROM {PUBLICATIONS_TABLE} ORDER BY PUBLISHED_AT DESC LIMIT 1"
    ).fetchone()
    if row is None or row[0] != code_digest() or row[1] is None:
        return None
    published = {tuple(transfer) for transfer in json.loads(row[1])}
    return sorted({site for site, extract, status in _transfers(con) if (site, extract, status) not in published})


def write_rebuilt_sites(con: duckdb.DuckDBPyConnection, sites: list[str] | None) -> None:
    """What the site-incremental dbt models rebuild (dbt_project/macros/rebuilt_sites.sql): the
    sites changed since the last publication, or, when every site is rebuilt (`sites` None), every
    site of the transfer log."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(f"CREATE OR REPLACE TABLE {REBUILT_SITES_TABLE} (SITEID VARCHAR NOT NULL PRIMARY KEY)")
    if sites is None:
        con.execute(f"INSERT INTO {REBUILT_SITES_TABLE} SELECT DISTINCT SITEID FROM {RAW_SCHEMA}.transfer_log")
    else:
        con.executemany(f"INSERT INTO {REBUILT_SITES_TABLE} VALUES (?)", [[site] for site in sorted(set(sites))])


def last_published_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """None before the first publication; reads only (a read-only connection will do)."""
    if not con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name = 'publications'"
    ).fetchone()[0]:
        return None
    row = con.execute(f"SELECT FINGERPRINT FROM {PUBLICATIONS_TABLE} ORDER BY PUBLISHED_AT DESC LIMIT 1").fetchone()
    return row[0] if row else None


def is_current(con: duckdb.DuckDBPyConnection, published: Path) -> bool:
    """The published file exists and was built from exactly what the build database holds now."""
    return published.exists() and last_published_fingerprint(con) == current_fingerprint(con)


def record_publication(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Called once the published file is in place (never before: a kill in between must rebuild)."""
    _ensure_table(con)
    con.execute(
        f"INSERT INTO {PUBLICATIONS_TABLE} (PUBLISHED_AT, FINGERPRINT, PATH, CODE_DIGEST, TRANSFERS) VALUES (?, ?, ?, ?, ?)",
        [
            datetime.now(timezone.utc).replace(tzinfo=None),
            current_fingerprint(con),
            str(published),
            code_digest(),
            json.dumps([list(transfer) for transfer in _transfers(con)]),
        ],
    )


def _ensure_table(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {PUBLICATIONS_TABLE} (PUBLISHED_AT TIMESTAMP NOT NULL, FINGERPRINT VARCHAR NOT NULL, PATH VARCHAR NOT NULL)"
    )
    # added later: a build database published before keeps its rows (NULL: rebuild every site once)
    for column in ("CODE_DIGEST", "TRANSFERS"):
        con.execute(f"ALTER TABLE {PUBLICATIONS_TABLE} ADD COLUMN IF NOT EXISTS {column} VARCHAR")
