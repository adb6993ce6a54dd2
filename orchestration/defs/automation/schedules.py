"""The nightly schedule: `nightly_refresh` at 02:00 Almaty time, every night.

Default status RUNNING: the schedule ticks as soon as a Dagster daemon serves this code location
(`dagster dev` starts one beside the webserver; a deployment runs `dagster-daemon run`), with
nobody switching it on, and the UI shows it as running from the first start. The code's default
holds until someone toggles the schedule: a stop or start in the UI (or `dagster schedule
stop|start`) is stored in the instance (DAGSTER_HOME) and wins over the code across restarts,
until the UI's reset returns it to the code's default. With `make dev` the instance is
`.dagster_home`, so a schedule stopped there stays stopped; `dagster dev` without DAGSTER_HOME
uses a throw-away instance, so the default applies at every start. Without a running daemon
nothing ticks, whatever the status; when the daemon comes back after a missed 02:00, Dagster
launches the latest missed tick once (a schedule without partitions does not catch up more).

If a `nightly_refresh` run is still queued or running at 02:00 the tick is skipped with a reason:
a second run would only wait for the first on the warehouse's refresh lock
(orchestration/refresh_lock.py), and the running one already does the same work. Runs created more than STALE_RUN_AFTER ago (see sensors.py) do not count.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation.jobs import nightly_refresh
from orchestration.defs.automation.sensors import refresh_in_progress

NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Almaty"


@dg.schedule(
    name="nightly_refresh_schedule",
    job=nightly_refresh,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=NIGHTLY_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="nightly_refresh every night at 02:00 Asia/Almaty; skipped while a nightly_refresh run is in progress.",
)
def nightly_refresh_schedule(context: dg.ScheduleEvaluationContext):
    running = refresh_in_progress(context.instance)
    if running is not None:
        return dg.SkipReason(
            f"nightly_refresh run {running.run_id} is {running.status.value}: it does tonight's work"
        )
    return dg.RunRequest()
