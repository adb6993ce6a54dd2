"""Publishing the warehouse analysts open, after checking every gate of this run itself.

Dagster runs a Python asset downstream of dbt models even when a dbt test on them failed, so the
publish step does not rely on being skipped: it reads this run's check evaluations and refuses to
publish unless every gate ran and no check failed with severity ERROR.
"""

import dagster as dg

from orchestration.build_state import record_publication
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import (
    ADAM_KEYS,
    GATE_CHECK_NAMES,
    HISTORY_KEYS,
    MARTS_KEYS,
    PUBLISHED_WAREHOUSE,
    SDTM_KEYS,
    changed_sites_of_run,
)
from orchestration.publishing import PUBLISHED_SCHEMAS, STORAGE_VERSION, publish


def _failed_gates(context) -> list[str]:
    records = context.instance.all_logs(context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [r.dagster_event.event_specific_data for r in records]
    problems = [
        f"check {e.check_name} on {e.asset_key.to_user_string()} failed"
        for e in evaluations
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    ran = {e.check_name for e in evaluations}
    problems += [f"gate {name} did not run in this run" for name in GATE_CHECK_NAMES.values() if name not in ran]
    return problems


@dg.asset(
    key=PUBLISHED_WAREHOUSE,
    group_name="publish",
    deps=[*MARTS_KEYS, *SDTM_KEYS, *ADAM_KEYS, *HISTORY_KEYS],
    kinds={"duckdb"},
    description=(
        f"REGENHEART_WAREHOUSE: schemas {', '.join(PUBLISHED_SCHEMAS)} copied from the build database "
        f"into a new file (DuckDB storage {STORAGE_VERSION}) renamed over the old one; when only some sites "
        "changed, the new file is a copy of the old one with those sites' rows copied again."
    ),
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    problems = _failed_gates(context)
    if problems:
        raise dg.Failure("not published: " + "; ".join(problems), allow_retries=False)
    sites = changed_sites_of_run(context)
    with warehouse.connection() as con:
        publication = publish(con, warehouse.published_path, sites)
        record_publication(con, warehouse.published_path)
    how = f"the rows of sites {', '.join(sites) or '(none)'} copied again" if publication.incremental else "every table copied"
    context.log.info(f"published {len(publication.tables)} tables to {publication.path} ({how})")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.path)),
            "storage_version": STORAGE_VERSION,
            "incremental": publication.incremental,
            "tables": dg.MetadataValue.json(publication.tables),
        }
    )
