"""What the published build was made from, so that a refresh with nothing new rebuilds nothing.

A build's fingerprint is a digest of every transfer seen (site, extract, status) and of the code
that turns them into the warehouse (the dbt project with its seeds, the GX suites, the Python
package). Publishing records it in the build database (`ops.publications`). A refresh that sees no
new transfer and finds the published file made from the same fingerprint stops after ingestion:
the published warehouse is already what a rebuild would give. New code (a model, a rule, a suite)
changes the fingerprint, so the next refresh rebuilds even without a new transfer. Whether
anything is new is one rule (`what_is_new`), which the CLI, the ingestion step and the sensor ask.

The publication also records its code digest and transfers, so that a refresh with the same code
knows which sites changed since: only those sites' staging rows are rebuilt and only their rows
of history, staging and marts are validated again (`sites_changed_since_publication`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT
from orchestration.warehouse import RAW_SCHEMA

PUBLICATIONS_TABLE = "ops.publications"
REBUILT_SITES_TABLE = "ops.rebuilt_sites"
OUTPUTS_TABLE = "ops.outputs"
# What is written from each publication, beside the published file (relative to its folder): a
# refresh that finds nothing new still writes an output that is missing or behind the publication.
OUTPUT_FILES = {"study_report": Path("reports") / "study_report.html", "exports": Path("exports") / "manifest.json"}
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
    unpublished = _transfers_since_publication(con)
    return None if unpublished is None else sorted({site for site, _, _ in unpublished})


def loaded_transfers_to_validate(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The LOADED transfers the raw gate validates: those no publication by this code was built
    from (every LOADED transfer when there is none). Not only this run's: a transfer loaded by a
    run whose gates failed is validated again by every later run until a publication includes it."""
    unpublished = _transfers_since_publication(con)
    transfers = _transfers(con) if unpublished is None else unpublished
    return [(site, extract) for site, extract, status in transfers if status == "LOADED"]


def _transfers_since_publication(con) -> list[tuple[str, str, str]] | None:
    _ensure_table(con)
    row = con.execute(
        f"SELECT CODE_DIGEST, TRANSFERS FROM {PUBLICATIONS_TABLE} ORDER BY PUBLISHED_AT DESC LIMIT 1"
    ).fetchall()
    if not row or row[0][0] != code_digest() or row[0][1] is None:
        return None
    published = {tuple(transfer) for transfer in json.loads(row[0][1])}
    return [transfer for transfer in _transfers(con) if transfer not in published]


def write_rebuilt_sites(con: duckdb.DuckDBPyConnection, sites: list[str] | None) -> None:
    """What the site-incremental dbt models rebuild (dbt_project/macros/rebuilt_sites.sql): the
    sites changed since the last publication, or, when every site is rebuilt (`sites` None), every
    site of the transfer log."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(f"CREATE OR REPLACE TABLE {REBUILT_SITES_TABLE} (SITEID VARCHAR NOT NULL PRIMARY KEY)")
    if sites is None:
        con.execute(f"INSERT INTO {REBUILT_SITES_TABLE} SELECT DISTINCT SITEID FROM {RAW_SCHEMA}.transfer_log")
    elif sites:
        con.executemany(f"INSERT INTO {REBUILT_SITES_TABLE} VALUES (?)", [[site] for site in sorted(set(sites))])


@dataclass(frozen=True)
class PublishedBuild:
    """What the published warehouse was built from, as far as the one asking can read it."""

    transfers: frozenset[tuple[str, str]]  # (SITEID, EXTRACT_ID) of every transfer it was built from, loaded or rejected
    # The build database holds what it was not built from: other code, or a transfer logged since
    # (by a run that failed before publishing). Only the build database tells; the published file does not.
    stale: bool = False
    outputs_behind: tuple[str, ...] = ()  # study report, exports: missing or written from an older publication


@dataclass(frozen=True)
class WhatIsNew:
    """What a refresh has to do that the published build does not show yet; falsy when nothing."""

    transfers: tuple = ()  # complete transfers in the landing folder it was not built from
    landing_changes: tuple = ()  # logged transfers changed in the landing folder, not yet said
    rebuild: bool = False  # nothing published yet, or stale (PublishedBuild.stale)
    outputs_behind: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.transfers or self.landing_changes or self.rebuild or self.outputs_behind)


def what_is_new(landed: Sequence, published: PublishedBuild | None, landing_changes: Sequence = ()) -> WhatIsNew:
    """THE rule of "is anything new?", for `regenheart refresh` before it starts Dagster, for the
    ingestion step after it has loaded, and for the new-transfer sensor.

    `landed` are the complete transfers in the landing folder (anything with a `key`: SITEID,
    EXTRACT_ID); `published` what the published warehouse was built from, None when there is
    none. New: a landed transfer the published build was not made from; a logged transfer changed
    in the landing folder and not yet recorded; nothing published, new code, or a transfer logged
    and not published (stale); and the study report or the exports behind the publication.

    Each asker gives what it can read. The CLI and ingestion read the build database
    (`published_build`); ingestion asks after it has logged every landed transfer, so what it
    just loaded or rejected makes the build stale. The sensor reads only the published file
    (never the build database a refresh writes): the transfers it was built from, never stale, no
    outputs; it acts on `transfers` alone (new code and outputs behind wait for the nightly run).
    """
    if published is None:
        return WhatIsNew(transfers=tuple(landed), landing_changes=tuple(landing_changes), rebuild=True)
    return WhatIsNew(
        transfers=tuple(t for t in landed if t.key not in published.transfers),
        landing_changes=tuple(landing_changes),
        rebuild=published.stale,
        outputs_behind=published.outputs_behind,
    )


def published_build(con: duckdb.DuckDBPyConnection, published: Path) -> PublishedBuild | None:
    """What the published file was built from, read from the build database (`ops.publications`):
    None when there is no published file or no publication. Reads only."""
    if not published.exists() or not _has_table(con, "publications"):
        return None
    row = con.execute(
        f"SELECT FINGERPRINT, TRANSFERS FROM {PUBLICATIONS_TABLE} ORDER BY PUBLISHED_AT DESC LIMIT 1"
    ).fetchall()
    if not row:
        return None
    fingerprint, transfers = row[0]
    built_from = _transfers(con) if transfers is None else json.loads(transfers)  # None: published before it was recorded
    return PublishedBuild(
        transfers=frozenset((site, extract) for site, extract, _ in built_from),
        stale=fingerprint != current_fingerprint(con),
        outputs_behind=tuple(outputs_behind(con, published)),
    )


def latest_publication(con: duckdb.DuckDBPyConnection) -> str | None:
    """The last publication's id (when it was published, UTC), None before the first; reads only."""
    if not _has_table(con, "publications"):
        return None
    (published_at,) = con.execute(f"SELECT max(PUBLISHED_AT) FROM {PUBLICATIONS_TABLE}").fetchall()[0]
    return None if published_at is None else published_at.isoformat()


def record_output(con: duckdb.DuckDBPyConnection, output: str, publication: str | None) -> None:
    """`output` (a key of OUTPUT_FILES) now shows the publication `publication`."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(f"CREATE TABLE IF NOT EXISTS {OUTPUTS_TABLE} (OUTPUT VARCHAR PRIMARY KEY, PUBLICATION VARCHAR, WRITTEN_AT TIMESTAMP)")
    con.execute(
        f"INSERT OR REPLACE INTO {OUTPUTS_TABLE} VALUES (?, ?, ?)",
        [output, publication, datetime.now(timezone.utc).replace(tzinfo=None)],
    )


def outputs_behind(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """The outputs (study report, exports) missing or not written from the last publication: a
    step failed or the refresh was killed after publishing. Reads only."""
    latest = latest_publication(con)
    if latest is None:
        return []
    written = dict(con.execute(f"SELECT OUTPUT, PUBLICATION FROM {OUTPUTS_TABLE}").fetchall()) if _has_table(con, "outputs") else {}
    return [
        output for output, relative in OUTPUT_FILES.items()
        if written.get(output) != latest or not (published.parent / relative).is_file()
    ]


def _has_table(con, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name = ?", [table]
    ).fetchall()[0][0])


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
