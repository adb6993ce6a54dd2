"""The one Dagster code location: ingestion, dbt models and checks, the nightly job."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.automation.jobs import nightly_refresh
from orchestration.defs.dbt.assets import regenheart_dbt_models
from orchestration.defs.dbt.project import regenheart_dbt_project
from orchestration.defs.ingest.assets import ingest_transfers
from orchestration.defs.progress_logger import progress_logger
from orchestration.defs.resources import WarehouseResource
from orchestration.settings import Settings

defs = dg.Definitions(
    assets=[ingest_transfers, regenheart_dbt_models],
    jobs=[nightly_refresh],
    resources={
        "warehouse": WarehouseResource.from_settings(Settings.from_env()),
        "dbt": DbtCliResource(project_dir=regenheart_dbt_project),
    },
    loggers={"console": dg.colored_console_logger, "progress": progress_logger},
)
