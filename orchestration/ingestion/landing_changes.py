"""Transfers whose files changed after they were logged.

A delivered folder never changes (DTS section 1): a correction comes as a new EXTRACT_ID. When the
bytes of a transfer already loaded or rejected are replaced anyway, the warehouse keeps what it
logged (a transfer is never loaded twice) and says so: a warning line in every refresh that looks
at the landing folder, and one row per distinct change in `raw.landing_changes`.

What is compared is cheap enough for every refresh: manifest.json's sha256 and each listed file's
size, as recorded in raw.transfer_log when the transfer was logged. A data file rewritten to the
same size under an unchanged manifest is not noticed (its sha256 would need reading every file).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from orchestration.ingestion.manifest import MAX_MANIFEST_BYTES, Manifest, read_manifest_bytes
from orchestration.ingestion.transfers import TransferRef, printable
from orchestration.warehouse import RAW_SCHEMA


@dataclass(frozen=True)
class LandingChange:
    transfer: TransferRef
    status: str  # LOADED or REJECTED: what the warehouse did with the transfer as it was
    changes: tuple[str, ...]  # what differs, file by file

    @property
    def detail(self) -> str:
        return "; ".join(self.changes)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.detail.encode("utf-8")).hexdigest()

    def __str__(self) -> str:
        return (
            f"transfer {self.transfer.label} ({self.status}) changed in the landing folder since it was logged: "
            f"{self.detail}. A delivered transfer never changes; the warehouse keeps what it logged. "
            "Ask the site to deliver the correction under a new EXTRACT_ID."
        )


def file_sizes(transfer: TransferRef, manifest: Manifest) -> str:
    """JSON {file name: size in bytes} of the listed files as they are now (null if absent)."""
    return json.dumps({listed.name: _size(transfer, listed.name) for listed in manifest.files}, sort_keys=True)


def landing_changes(con: duckdb.DuckDBPyConnection, seen: list[TransferRef]) -> list[LandingChange]:
    """The transfers of `seen` (logged before) whose manifest or listed files differ from when
    they were logged. Reads only: a read-only connection will do."""
    if not seen:
        return []
    logged = {
        (site, extract): row
        for site, extract, *row in con.execute(
            f"""SELECT SITEID, EXTRACT_ID, STATUS, MANIFEST_SHA256, FILE_SIZES, MANIFEST
                FROM {RAW_SCHEMA}.transfer_log
                WHERE (SITEID, EXTRACT_ID) IN (SELECT unnest($sites::VARCHAR[]), unnest($extracts::VARCHAR[]))""",
            {"sites": [t.site_id for t in seen], "extracts": [t.extract_id for t in seen]},
        ).fetchall()
    }
    found = []
    for transfer in seen:
        if transfer.key not in logged:
            continue
        status, manifest_sha256, sizes, manifest_text = logged[transfer.key]
        changes = _manifest_change(transfer, manifest_sha256, manifest_text) + _file_changes(transfer, sizes)
        if changes:
            found.append(LandingChange(transfer, status, tuple(changes)))
    return found


def record_landing_changes(con: duckdb.DuckDBPyConnection, seen: list[TransferRef]) -> list[LandingChange]:
    """landing_changes, each distinct one recorded once in raw.landing_changes."""
    changes = landing_changes(con, seen)
    noticed_at = datetime.now(timezone.utc).replace(tzinfo=None)
    for change in changes:
        con.execute(
            f"INSERT OR IGNORE INTO {RAW_SCHEMA}.landing_changes VALUES (?, ?, ?, ?, ?)",
            [change.transfer.site_id, change.transfer.extract_id, noticed_at, change.fingerprint, change.detail],
        )
    return changes


def unrecorded_landing_changes(con: duckdb.DuckDBPyConnection, seen: list[TransferRef]) -> list[LandingChange]:
    """The changes raw.landing_changes does not hold yet (a read-only connection will do)."""
    changes = landing_changes(con, seen)
    if not changes:
        return []
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'landing_changes'", [RAW_SCHEMA]
    ).fetchall()[0][0]
    recorded = set(con.execute(
        f"SELECT SITEID, EXTRACT_ID, FINGERPRINT FROM {RAW_SCHEMA}.landing_changes"
    ).fetchall()) if exists else set()
    return [c for c in changes if (*c.transfer.key, c.fingerprint) not in recorded]


def _manifest_change(transfer: TransferRef, logged_sha256: str | None, logged_text: str | None) -> list[str]:
    if logged_sha256 is None and logged_text is None:  # never read (a link, a pipe): nothing to compare
        return []
    try:
        now = read_manifest_bytes(transfer)
    except OSError as error:
        return [f"manifest.json cannot be read any more ({printable(error.strerror or error, 80)})"]
    if logged_sha256 is not None:
        same = hashlib.sha256(now).hexdigest() == logged_sha256
    elif logged_text is not None:  # logged before sha256s were recorded
        same = len(now) <= MAX_MANIFEST_BYTES and now.decode("utf-8-sig", "replace") == logged_text
    else:
        return []
    return [] if same else ["manifest.json replaced"]


def _file_changes(transfer: TransferRef, logged_sizes: str | None) -> list[str]:
    if not logged_sizes:
        return []
    changes = []
    for name, size in sorted(json.loads(logged_sizes).items()):
        now = _size(transfer, name)
        if now != size:
            changes.append(f"{name} " + ("removed" if now is None else f"is {now} bytes (was {size})"))
    return changes


def _size(transfer: TransferRef, name: str) -> int | None:
    try:
        return os.lstat(transfer.path / name).st_size
    except OSError:
        return None
