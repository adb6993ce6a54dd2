"""History: every version of every record across a site's transfers, replayed from raw in
extract order (orchestration/history.py)."""

import dagster as dg

from orchestration import dts
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import (
    HISTORY_FILE_KEYS,
    HISTORY_TRANSFERS,
    RAW_FILE_KEYS,
    RAW_TRANSFER_LOG,
    RebuildConfig,
    transfer_layer_asset,
)
from orchestration.history import historise_new_transfers, rebuild_history


@transfer_layer_asset(
    "historise_transfers",
    "history",
    HISTORY_TRANSFERS,
    HISTORY_FILE_KEYS,
    transfers_description="The loaded transfers whose records are in history, one row each.",
    file_description=lambda domain: (
        f"Every version of every record of {dts.file_name(domain)} (SITEID + RECID), with VALID_FROM / "
        "VALID_TO as extract ids; a deleted record keeps its last version, closed."
    ),
    built_from=(RAW_TRANSFER_LOG, RAW_FILE_KEYS),
)
def historise_transfers(context: dg.AssetExecutionContext, config: RebuildConfig, warehouse: WarehouseResource):
    """Historise the loaded transfers not yet in history, one transaction each, in extract order."""
    with warehouse.connection() as con:
        if config.rebuild:
            context.log.info("history: rebuilding from raw")
            report = rebuild_history(con, progress=context.log.info)
        else:
            report = historise_new_transfers(con, progress=context.log.info)
    yield dg.MaterializeResult(
        asset_key=HISTORY_TRANSFERS,
        metadata={
            "transfers_historised": [f"{site}/{extract}" for site, extract in report.historised],
            "sites_replayed": report.replayed_sites,
        },
    )
    for domain, key in HISTORY_FILE_KEYS.items():
        opened, closed = report.changes_by_file.get(domain, (0, 0))
        yield dg.MaterializeResult(asset_key=key, metadata={"versions_opened": opened, "versions_closed": closed})
    context.log.info(
        f"history: {len(report.historised)} transfer(s), {report.versions_opened} version(s) opened, "
        f"{report.versions_closed} closed"
    )
