"""Ingestion: complete transfers in the landing folder -> append-only raw tables."""

from pathlib import Path

import dagster as dg


from orchestration import dts
from orchestration.build_state import NOTHING_NEW, published_build, sites_changed_since_publication, what_is_new
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import RAW_FILE_KEYS, RAW_TRANSFER_LOG, RebuildConfig, transfer_layer_asset
from orchestration.ingestion import ingest_new_transfers


@transfer_layer_asset(
    "ingest_transfers",
    "ingest",
    RAW_TRANSFER_LOG,
    RAW_FILE_KEYS,
    transfers_description="One row per transfer seen (LOADED or REJECTED, with the rule it broke).",
    file_description=lambda domain: f"Every loaded transfer's {dts.file_name(domain)}, as delivered (text).",
    skippable=True,
)
def ingest_transfers(context: dg.AssetExecutionContext, config: RebuildConfig, warehouse: WarehouseResource):
    """Find complete transfers, check each against the DTS, load the good ones whole.

    A rejected transfer is logged with its reason and does not stop the others: the run goes on
    to build what loaded. `regenheart refresh` then exits non-zero and names it. When nothing new
    came and the published warehouse was built from what raw holds now (with this code), nothing
    is materialized and every later step of the run is skipped.
    """
    with warehouse.connection() as con:
        report = ingest_new_transfers(con, Path(warehouse.landing_dir), progress=context.log.info)
        # Every landed transfer is logged now (what was just loaded or rejected makes the published
        # build stale) and every landing change said: the rule needs no landing folder any more.
        new = what_is_new((), published_build(con, warehouse.published_path))
        changed_sites = None if config.rebuild else sites_changed_since_publication(con)
    for rejection in report.rejected:
        context.log.warning(f"REJECTED {rejection}")
    if not config.rebuild and not new:
        context.log.info(NOTHING_NEW)
        return
    if not config.rebuild and not new.rebuild:
        # the published build is current, but a step after publishing failed or was killed: the
        # run goes on with no site to rebuild, so that its last steps write them from it
        behind = " and ".join(new.outputs_behind)
        context.log.info(f"nothing new, but {behind} are behind the published build: writing them")

    rows_by_file = {domain: 0 for domain in dts.DTS_FILES}
    for loaded in report.loaded:
        for name, rows in loaded.rows_by_file.items():
            rows_by_file[name.removesuffix(".csv")] += rows

    yield dg.MaterializeResult(
        asset_key=RAW_TRANSFER_LOG,
        metadata={
            "transfers_loaded": [t.transfer.label for t in report.loaded],
            "transfers_rejected": [str(r) for r in report.rejected],
            "transfers_already_seen": report.skipped,
            "transfers_changed_in_landing": [str(change) for change in report.landing_changes],
            # what the later steps of this run rebuild and validate again (see changed_sites_of_run)
            "rebuild_all_sites": changed_sites is None,
            "changed_sites": changed_sites or [],
        },
    )
    for domain, key in RAW_FILE_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={"rows_appended": rows_by_file[domain]})
    if changed_sites is None:
        context.log.info("rebuilding every site (first build, new code or --rebuild)")
    else:
        context.log.info(f"sites changed since the last publication: {', '.join(changed_sites) or 'none'}")

