"""Landing-to-raw ingestion: find complete transfers, check them per the DTS, load them whole.

Every complete transfer ends LOADED or REJECTED, in one transaction of its own: its rows and its
LOADED row in raw.transfer_log are committed together, after its rows passed the raw suites'
critical expectations; anything else rolls back to nothing and logs a REJECTED row naming the
file and the rule. An unexpected error while checking or loading one transfer rejects that
transfer (rule `internal-error`) and the others go on. Only a fault of the warehouse's own
machine (disk full, out of memory, the database file unusable) stops ingestion: the transfer is
then not logged, and the next refresh tries it again whole.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from orchestration.ingestion.file_scan import file_kind
from orchestration.ingestion.landing_changes import LandingChange, file_sizes, record_landing_changes
from orchestration.ingestion.manifest import Manifest, parse_manifest, read_manifest_bytes
from orchestration.ingestion.raw_loader import LoadedTransfer, LoadProgress, load_transfer
from orchestration.ingestion.transfers import TransferRef, TransferRejected, find_complete_transfers, printable
from orchestration.warehouse import RAW_SCHEMA, ensure_raw_layer

__all__ = [
    "IngestReport",
    "IngestionStopped",
    "TransferRef",
    "TransferRejected",
    "find_complete_transfers",
    "ingest_new_transfers",
    "seen_transfers",
]

# How large DuckDB's write-ahead log may grow while transfers load (see _checkpoints_deferred):
# about 25 transfers of 2,000 subjects; the rows it holds stay in DuckDB's memory until checkpointed.
WAL_CHECKPOINT_THRESHOLD = "256MB"
# Faults of this machine, not of a transfer: rejecting a good transfer for them would lose it.
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM, errno.EFBIG}
_MACHINE_ERRORS = (
    MemoryError,
    duckdb.IOException,
    duckdb.OutOfMemoryException,
    duckdb.FatalException,
    duckdb.InterruptException,
)


class IngestionStopped(RuntimeError):
    """A fault of the machine stopped ingestion; the transfer it was loading is not logged."""


@dataclass
class IngestReport:
    loaded: list[LoadedTransfer] = field(default_factory=list)
    rejected: list[TransferRejected] = field(default_factory=list)
    skipped: int = 0
    landing_changes: list[LandingChange] = field(default_factory=list)


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

    A transfer seen before is skipped, so offering the same transfer again changes nothing; if
    its files changed since it was logged, that is said (and recorded once in raw.landing_changes).
    """
    report = IngestReport()
    seen = seen_transfers(con)
    candidates = find_complete_transfers(landing_dir)
    new = [t for t in candidates if t.key not in seen]
    report.skipped = len(candidates) - len(new)
    report.landing_changes = record_landing_changes(con, [t for t in candidates if t.key in seen])
    for change in report.landing_changes:
        progress(f"WARNING {change}")
    if not new:
        return report
    with _checkpoints_deferred(con):
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


@contextmanager
def _checkpoints_deferred(con) -> Iterator[None]:
    """Transfers commit one by one, each to DuckDB's write-ahead log; past its default threshold
    (16 MB: a transfer or two at 2,000 subjects a site) every commit also checkpoints, writing the
    raw tables' open row groups again. A quarter of a first build's ingestion went there (50 x
    2,000, BENCHMARKS.md): the log may grow to WAL_CHECKPOINT_THRESHOLD while transfers load, and
    the database is checkpointed after the last. The log is as durable as the file: a
    refresh stopped before that checkpoint loses no committed transfer."""
    previous = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    con.execute(f"SET checkpoint_threshold = '{WAL_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        con.execute(f"SET checkpoint_threshold = '{previous}'")
    try:
        con.execute("CHECKPOINT")
    except duckdb.TransactionException:
        pass  # another connection of this process is in a transaction: DuckDB checkpoints later


@dataclass
class _Attempt:
    """What is known of a transfer while it is checked and loaded."""

    manifest: Manifest | None = None
    manifest_sha256: str | None = None  # of manifest.json's bytes, even when they are no manifest
    progress: LoadProgress = field(default_factory=LoadProgress)


def _ingest_one(con, transfer: TransferRef) -> LoadedTransfer | TransferRejected:
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    attempt = _Attempt()
    con.execute("BEGIN TRANSACTION")
    try:
        loaded = _check_and_load(con, transfer, attempt, loaded_at)
        con.execute("COMMIT")
        return loaded
    except TransferRejected as rejection:
        outcome = rejection
    except Exception as error:
        _rollback(con)
        if is_machine_fault(error):
            raise IngestionStopped(
                f"transfer {transfer.label}: {type(error).__name__}: {printable(error, 300)} "
                "(a fault of this machine, not of the transfer: it is not logged, the next refresh loads it again)"
            ) from error
        outcome = _unexpected(transfer, attempt, error)
    except BaseException:
        _rollback(con)
        raise
    _rollback(con)
    _log(con, transfer, attempt, loaded_at, rejection=outcome)
    return outcome


def _check_and_load(con, transfer: TransferRef, attempt: _Attempt, loaded_at: datetime) -> LoadedTransfer:
    _check_folder(transfer)
    attempt.progress.file = "manifest.json"
    manifest_bytes = read_manifest_bytes(transfer)
    attempt.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    attempt.manifest = parse_manifest(transfer, manifest_bytes)
    if not con.execute("SELECT json_valid(?)", [attempt.manifest.text]).fetchall()[0][0]:
        # kept in raw.transfer_log, where the raw suites read it with DuckDB's JSON functions
        raise TransferRejected(transfer, "manifest-json", "manifest.json is not JSON that DuckDB reads", file="manifest.json")
    with tempfile.TemporaryDirectory(prefix="regenheart-transcode-") as scratch:
        loaded = load_transfer(con, transfer, attempt.manifest, loaded_at, Path(scratch), attempt.progress)
    _log(con, transfer, attempt, loaded_at, loaded=loaded)
    _check_raw_rows(con, transfer)
    return loaded


def _check_folder(transfer: TransferRef) -> None:
    """A transfer is a folder delivered into the landing folder (DTS section 1), not a link to one;
    its manifest a regular file."""
    for folder in (transfer.path.parent, transfer.path):
        if os.path.islink(folder):
            raise TransferRejected(transfer, "file-type", f"folder {printable(folder.name)} is a symbolic link: a transfer is a folder delivered into the landing folder")
    kind = file_kind(transfer.manifest_path)
    if kind is not None:
        raise TransferRejected(transfer, "file-type", f"{kind}: a transfer holds regular files only", file="manifest.json")


def _check_raw_rows(con, transfer: TransferRef) -> None:
    """The raw gate's critical row expectations on this transfer's rows, before they are committed: a
    transfer that fails them is rejected here, so that no later refresh can build on it."""
    from orchestration.quality import validate_layer

    # the row-level ones, counted in DuckDB; the loader already made sure of the columns
    report = validate_layer(con, "raw", new_transfers=[transfer.key], severities=("critical",), in_duckdb_only=True)
    if report.passed:
        return
    failure = report.critical_failures[0]
    table = failure.suite.removeprefix("raw.")
    raise TransferRejected(
        transfer, "raw-gate", f"fails {failure.describe()}",
        file=None if table == "transfer_log" else f"{table}.csv",
    )


def _unexpected(transfer: TransferRef, attempt: _Attempt, error: Exception) -> TransferRejected:
    if isinstance(error, PermissionError):
        return TransferRejected(transfer, "file-unreadable", f"cannot be read ({error.strerror})", file=attempt.progress.file)
    return TransferRejected(
        transfer, "internal-error", f"checking or loading it raised {type(error).__name__}: {error}", file=attempt.progress.file
    )


def is_machine_fault(error: BaseException) -> bool:
    return isinstance(error, _MACHINE_ERRORS) or (isinstance(error, OSError) and error.errno in _MACHINE_ERRNOS)


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:  # no transaction open any more
        pass


def _log(con, transfer: TransferRef, attempt: _Attempt, loaded_at, loaded=None, rejection=None) -> None:
    manifest = attempt.manifest
    con.execute(
        f"""INSERT INTO {RAW_SCHEMA}.transfer_log (SITEID, EXTRACT_ID, STATUS, REASON, RULE,
                REJECTED_FILE, REJECTED_LINE, FILES, ROWS, LOADED_AT, EXTRACTED_AT, ENCODING,
                DELIMITER, DECIMAL_SEPARATOR, DTS_VERSION, MANIFEST, MANIFEST_SHA256, FILE_SIZES)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
            attempt.manifest_sha256,
            file_sizes(transfer, manifest) if manifest else None,
        ],
    )
