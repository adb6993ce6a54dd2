"""The one Dagster code location: ingestion, record history, dbt models and checks, GX gates,
publishing, the study report and exports, the nightly job, the submission package job."""

import dagster as dg

from orchestration.defs.automation.jobs import nightly_refresh
from orchestration.defs.automation.schedules import nightly_refresh_schedule
from orchestration.defs.automation.sensors import new_transfer_sensor
from orchestration.defs.checks.gx_gates import GX_GATES
from orchestration.defs.dbt.assets import dbt_analysis, dbt_staging
from orchestration.defs.exports.assets import warehouse_exports
from orchestration.defs.history.assets import historise_transfers
from orchestration.defs.ingest.assets import ingest_transfers
from orchestration.defs.progress_logger import progress_logger
from orchestration.defs.publish.assets import published_warehouse
from orchestration.defs.report.assets import study_report
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.submission.jobs import submission
from orchestration.settings import Settings

defs = dg.Definitions(
    assets=[
        ingest_transfers,
        historise_transfers,
        dbt_staging,
        dbt_analysis,
        published_warehouse,
        study_report,
        warehouse_exports,
    ],
    asset_checks=GX_GATES,
    jobs=[nightly_refresh, submission],
    schedules=[nightly_refresh_schedule],
    sensors=[new_transfer_sensor],
    resources={
        "warehouse": WarehouseResource.from_settings(Settings.from_env()),
    },
    loggers={"console": dg.colored_console_logger, "progress": progress_logger},
)
