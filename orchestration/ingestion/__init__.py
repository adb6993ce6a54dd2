"""Landing-to-raw ingestion: find complete transfers, check them per the DTS, load them whole."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from orchestration.ingestion.manifest import Manifest, read_manifest
from orchestration.ingestion.raw_loader import LoadedTransfer, load_transfer
from orchestration.ingestion.transfers import TransferRef, TransferRejected, find_complete_transfers
from orchestration.warehouse import RAW_SCHEMA, ensure_raw_layer

__all__ = [
    "IngestReport",
    "TransferRef",
    "TransferRejected",
    "find_complete_transfers",
    "ingest_new_transfers",
    "seen_transfers",
]


@dataclass
class IngestReport:
    loaded: list[LoadedTransfer] = field(default_factory=list)
    rejected: list[TransferRejected] = field(default_factory=list)
    skipped: int = 0


def seen_transfers(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(SITEID, EXTRACT_ID) of every transfer already loaded or rejected."""
    ensure_raw_layer(con)
    return set(con.execute(f"SELECT SITEID, EXTRACT_ID FROM {RAW_SCHEMA}.transfer_log").fetchall())


def ingest_new_transfers(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> IngestReport:
    """Load every complete transfer not seen before; reject (and log) the ones that break the DTS.

    Each transfer is one transaction: it lands whole with its LOADED row in raw.transfer_log, or
    not at all, leaving only a REJECTED row with the reason. A transfer seen before is skipped, so
    offering the same transfer again changes nothing.
    """
    report = IngestReport()
    seen = seen_transfers(con)
    candidates = find_complete_transfers(landing_dir)
    new = [t for t in candidates if (t.site_id, t.extract_id) not in seen]
    report.skipped = len(candidates) - len(new)
    for position, transfer in enumerate(new, start=1):
        progress(f"transfer {position}/{len(new)} {transfer.label}: checking and loading")
        outcome = _ingest_one(con, transfer)
        if isinstance(outcome, TransferRejected):
            report.rejected.append(outcome)
            progress(f"transfer {transfer.label}: REJECTED: {outcome}")
        else:
            report.loaded.append(outcome)
            progress(f"transfer {transfer.label}: loaded {outcome.rows} rows from {len(outcome.rows_by_file)} files")
    return report


def _ingest_one(con, transfer: TransferRef) -> LoadedTransfer | TransferRejected:
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    manifest: Manifest | None = None
    con.execute("BEGIN TRANSACTION")
    try:
        manifest = read_manifest(transfer)
        with tempfile.TemporaryDirectory(prefix="regenheart-transcode-") as scratch:
            loaded = load_transfer(con, transfer, manifest, loaded_at, Path(scratch))
        _log(con, transfer, manifest, loaded_at, loaded=loaded)
        con.execute("COMMIT")
        return loaded
    except TransferRejected as rejection:
        con.execute("ROLLBACK")
        _log(con, transfer, manifest, loaded_at, rejection=rejection)
        return rejection
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _log(con, transfer, manifest, loaded_at, loaded=None, rejection=None) -> None:
    con.execute(
        f"""INSERT INTO {RAW_SCHEMA}.transfer_log (SITEID, EXTRACT_ID, STATUS, REASON, RULE,
                REJECTED_FILE, REJECTED_LINE, FILES, ROWS, LOADED_AT, EXTRACTED_AT, ENCODING,
                DELIMITER, DECIMAL_SEPARATOR, DTS_VERSION, MANIFEST)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            transfer.site_id,
            transfer.extract_id,
            "LOADED" if loaded else "REJECTED",
            str(rejection) if rejection else None,
            rejection.rule if rejection else None,
            rejection.file if rejection else None,
            rejection.line if rejection else None,
            len(manifest.files) if manifest else None,
            loaded.rows if loaded else (sum(f.rows for f in manifest.files) if manifest else None),
            loaded_at,
            manifest.extracted_at if manifest else None,
            manifest.encoding if manifest else None,
            manifest.delimiter if manifest else None,
            manifest.decimal_separator if manifest else None,
            manifest.dts_version if manifest else None,
            manifest.text if manifest else None,
        ],
    )
