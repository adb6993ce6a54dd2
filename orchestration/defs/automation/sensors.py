"""The new-transfer sensor: start `nightly_refresh` soon after a site delivers, not only at night.

Each tick (at most once a minute) does three cheap things and touches nothing it does not own:

1. Is a `nightly_refresh` run already queued or running (launched by this sensor, the schedule,
   the UI or `regenheart refresh` with DAGSTER_HOME set)? Then it skips: a second run would only
   wait for the first on the warehouse's refresh lock (orchestration/refresh_lock.py), and the
   running one may already be loading the new transfer. The next tick after it ends looks again. Runs created more than
   `STALE_RUN_AFTER` ago are ignored: a run whose process died (a killed `dagster dev`) stays
   STARTED for ever, and must not stop the automation.
2. Which complete transfers (a folder `<SITEID>/<EXTRACT_ID>/` with its manifest) are in the
   landing folder? A folder without manifest.json is still arriving and never triggers a run.
3. Which of them are already seen? Seen = listed in the published warehouse's marts.extract_log
   (loaded or rejected; the transfers part of build_state.what_is_new, the rule the CLI and the
   ingestion step ask too), or already requested by this sensor (its run key `<SITEID>/<EXTRACT_ID>`
   is on a run; Dagster would skip that key anyway). The published file is opened read-only on a
   short connection, only if it exists; the refresh replaces it by a rename, so reading it never
   holds up a refresh. If it cannot be opened (someone holds it read-write, a half-written file),
   the tick decides on run keys alone and says so; it never fails.

Several new transfers at once are coalesced: a tick requests ONE run, keyed by the first new
transfer in site then extract-id order, and that run loads every new complete transfer (the
ingestion step always takes all of them). The others are then in marts.extract_log and need no
run. One run per transfer would start runs side by side, each waiting for the others on
the refresh lock. Whatever happens, this sensor requests at most one run per transfer, ever:
if a run's gates fail and nothing is published, the next tick requests the next unseen key, which
is a retry of the same work, and once every key is used it stops.

Default status STOPPED: switch it on in the UI (Automation) or with
`dagster sensor start new_transfer_sensor`. The nightly schedule needs no switch.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.build_state import PublishedBuild, what_is_new
from orchestration.defs.automation.jobs import nightly_refresh
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.transfers import TransferRef, find_complete_transfers

SENSOR_NAME = "new_transfer_sensor"
TICK_INTERVAL_SECONDS = 60
STALE_RUN_AFTER = timedelta(hours=6)
# Dagster's own tags on runs: the run key, and which sensor launched the run.
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def refresh_in_progress(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """A `nightly_refresh` run queued or running, created within STALE_RUN_AFTER; else None."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=nightly_refresh.name,
            statuses=_UNFINISHED,
            created_after=datetime.now(timezone.utc) - STALE_RUN_AFTER,
        ),
        limit=1,
    )
    return records[0].dagster_run if records else None


def published_extract_labels(warehouse_path: Path) -> tuple[set[str] | None, str]:
    """`SITEID/EXTRACT_ID` of every transfer in marts.extract_log of the published file.

    Returns (labels, note). labels is None when the file exists but cannot be read; an absent
    file, or one without marts.extract_log yet, means no transfer published (an empty set). The
    note says why, for the tick's message; it is empty when the log was read.
    """
    if not warehouse_path.is_file():
        return set(), f"no published warehouse yet at {warehouse_path}"
    try:
        con = duckdb.connect(str(warehouse_path), read_only=True)
    except Exception as error:  # locked by a writer, not a DuckDB file, unreadable: not this tick's problem
        return None, f"could not open {warehouse_path} read-only ({_first_line(error)})"
    try:
        has_log = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'extract_log'"
        ).fetchone()[0]
        if not has_log:
            return set(), f"{warehouse_path} has no marts.extract_log yet"
        rows = con.execute("SELECT SITEID, EXTRACT_ID FROM marts.extract_log").fetchall()
        return {f"{site}/{extract}" for site, extract in rows}, ""
    except Exception as error:
        return None, f"could not read marts.extract_log of {warehouse_path} ({_first_line(error)})"
    finally:
        con.close()


def _requested_run_keys(instance: dg.DagsterInstance, labels: list[str]) -> set[str]:
    """Which of these run keys this sensor already used (one query on the instance's run storage)."""
    if not labels:
        return set()
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: labels, SENSOR_NAME_TAG: SENSOR_NAME}))
    return {run.tags[RUN_KEY_TAG] for run in runs} & set(labels)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


@dg.sensor(
    name=SENSOR_NAME,
    job=nightly_refresh,
    minimum_interval_seconds=TICK_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Starts nightly_refresh when a new complete transfer (with its manifest.json) is in the landing "
        "folder and not yet in the published marts.extract_log. One run per tick loads every new transfer; "
        "run key SITEID/EXTRACT_ID of the first of them."
    ),
)
def new_transfer_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    landing = Path(warehouse.landing_dir)
    try:
        transfers = find_complete_transfers(landing)
    except OSError as error:  # missing or unreadable landing folder
        return dg.SkipReason(f"cannot list the landing folder: {_first_line(error)}")
    if not transfers:
        return dg.SkipReason(f"no complete transfer in {landing} (a folder without manifest.json is still arriving)")

    running = refresh_in_progress(context.instance)
    if running is not None:
        return dg.SkipReason(
            f"nightly_refresh run {running.run_id} is {running.status.value}; "
            "new transfers are looked at again once it has ended"
        )

    published, note = published_extract_labels(Path(warehouse.warehouse_path))
    fallback = published is None
    if fallback:
        note += "; deciding on run keys alone"
        context.log.warning(note)
    note = f" ({note})" if note else ""
    # the transfers part of build_state.what_is_new: the sensor reads no build database, so new
    # code and outputs behind the publication are the nightly run's to find
    built_from = None if fallback else PublishedBuild(transfers=frozenset(tuple(label.split("/", 1)) for label in published))
    candidates = list(what_is_new(transfers, built_from).transfers)
    requested = _requested_run_keys(context.instance, [t.label for t in candidates])
    new: list[TransferRef] = [t for t in candidates if t.label not in requested]

    if not new:
        return dg.SkipReason(
            f"no new transfer: {len(transfers)} complete transfer(s) in {landing}, "
            f"{len(transfers) - len(candidates)} in marts.extract_log, {len(requested)} requested before{note}"
        )
    first = new[0]
    context.log.info(
        f"{len(new)} new transfer(s): {', '.join(t.label for t in new)}; one nightly_refresh run, "
        f"run key {first.label}, loads them all{note}"
    )
    return dg.RunRequest(
        run_key=first.label,
        tags={"regenheart/transfer": first.label, "regenheart/new_transfers": str(len(new))},
    )
