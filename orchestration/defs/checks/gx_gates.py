"""Great Expectations suites as blocking Dagster asset checks, one gate per layer.

Each gate validates its layer (expectations/<layer>/) and reports on every table asset of it. A
critical expectation that fails makes the check fail with severity ERROR, and the check is
blocking: nothing downstream runs in that run. Failed warnings only show in the UI (severity
WARN). Every gate writes a self-contained HTML summary beside the warehouse.
"""

from pathlib import Path

import dagster as dg

from orchestration.build_state import loaded_transfers_to_validate
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import (
    GATE_CHECK_NAMES,
    HISTORY_KEYS,
    MARTS_KEYS,
    RAW_KEYS,
    STAGING_KEYS,
    changed_sites_of_run,
)
from orchestration.quality import validate_layer, write_validation_summary


def _gate_specs(layer: str, keys) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            GATE_CHECK_NAMES[layer],
            asset=key,
            blocking=True,
            description=f"Great Expectations suites of the {layer} layer (expectations/{layer}/).",
        )
        for key in keys
    ]


def _validation_report_path(warehouse: WarehouseResource, run_id: str, layer: str) -> Path:
    return warehouse.published_path.parent / "reports" / "validation" / f"{run_id}-{layer}.html"


def _results(context, warehouse: WarehouseResource, layer: str, keys, report, sites: list[str] | None = None):
    html = write_validation_summary([report], _validation_report_path(warehouse, context.run.run_id, layer))
    context.log.info(
        f"{layer} gate: {len(report.critical_failures)} critical failure(s), {len(report.warnings)} warning(s); summary {html}"
    )
    by_table = {suite.table: suite for suite in report.suites}
    for key in keys:
        table = ".".join(key.path)
        suite = by_table.get(table)
        outcomes = suite.outcomes if suite else []
        failed = [o for o in outcomes if not o.success]
        critical = [o for o in failed if o.severity == "critical"]
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=GATE_CHECK_NAMES[layer],
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
            metadata={
                "expectations": len(outcomes),
                "critical_failures": len(critical),
                "warnings": len(failed) - len(critical),
                "rows_validated": suite.row_count if suite else 0,
                "sites_validated": "every site" if sites is None else ", ".join(sites) or "none",
                "failures": dg.MetadataValue.md("\n".join(f"- {o.describe()}" for o in failed) or "none"),
                "validation_summary": dg.MetadataValue.path(str(html)),
            },
        )


def _sites_in_scope(context) -> list[str] | None:
    sites = changed_sites_of_run(context)
    context.log.info(f"validating {'every site' if sites is None else 'sites ' + (', '.join(sites) or '(none)')}")
    return sites


@dg.multi_asset_check(specs=_gate_specs("raw", RAW_KEYS), can_subset=True)
def gx_raw_gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """The raw layer: the rows of every loaded transfer that no publication includes yet (this
    run's, and any a failed run loaded); ingestion already rejected a transfer failing a critical
    expectation, so a failure here is a bug, or a suite changed since."""
    with warehouse.connection() as con:
        transfers = loaded_transfers_to_validate(con)
        context.log.info(f"validating {len(transfers)} loaded transfer(s) not yet published")
        report = validate_layer(con, "raw", new_transfers=transfers)
    yield from _results(context, warehouse, "raw", RAW_KEYS, report)


def _site_scoped_gate(layer: str, keys: list[dg.AssetKey], description: str):
    """The gate of a layer validated site by site: the sites this run rebuilt (every site on a full
    rebuild)."""

    @dg.multi_asset_check(
        name=f"gx_{layer}_gate", specs=_gate_specs(layer, keys), can_subset=True, description=description
    )
    def gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        sites = _sites_in_scope(context)
        with warehouse.connection() as con:
            report = validate_layer(con, layer, sites=sites)
        yield from _results(context, warehouse, layer, keys, report, sites)

    return gate


gx_history_gate = _site_scoped_gate(
    "history", HISTORY_KEYS,
    "The history layer: every version of every record of the sites changed since the last publication "
    "(every site on a full rebuild), and the transfers historised.",
)
gx_staging_gate = _site_scoped_gate(
    "staging", STAGING_KEYS, "The staging layer: the staged rows of the sites changed since the last publication.",
)
gx_marts_gate = _site_scoped_gate(
    "marts", MARTS_KEYS, "The marts: the rows of the sites changed since the last publication, and the summaries.",
)


GX_GATES = [gx_raw_gate, gx_history_gate, gx_staging_gate, gx_marts_gate]
