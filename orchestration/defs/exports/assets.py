"""The statisticians' exports, rewritten from the published warehouse after each publication."""

import dagster as dg

from orchestration.build_state import OUTPUT_FILES, latest_publication, record_output
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import PUBLISHED_WAREHOUSE

EXPORTS_FOLDER = OUTPUT_FILES["exports"].parent


@dg.asset(
    key=dg.AssetKey("warehouse_exports"),
    group_name="report",
    deps=[PUBLISHED_WAREHOUSE],
    kinds={"parquet", "csv", "sas"},
    description=(
        f"`{EXPORTS_FOLDER}/` beside REGENHEART_WAREHOUSE, from the published file: every marts table as "
        "<table>.parquet and <table>.csv, adsl/adeff/adae as SAS transport v5 (<table>.xpt, labelled), "
        "and manifest.json. Each file is replaced atomically."
    ),
)
def warehouse_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    folder = warehouse.published_path.parent / EXPORTS_FOLDER
    # Imported here, not with the definitions (loaded on every UI reload and sensor tick): numpy
    # and pandas are only needed when the exports are written.
    from orchestration.exports import write_exports

    with warehouse.connection() as con:
        publication = latest_publication(con)
    exports = write_exports(warehouse.published_path, folder, publication=publication)
    with warehouse.connection() as con:
        record_output(con, "exports", publication)
    context.log.info(f"wrote {len(exports.files)} export files to {exports.folder}")
    if exports.removed:
        context.log.info(f"removed exports of tables no longer in marts: {', '.join(exports.removed)}")
    for adjustment in exports.xpt_adjustments:
        context.log.warning(
            f"{adjustment.file} {adjustment.variable}: {adjustment.values} value(s) {adjustment.rule}, "
            "which XPT v5 cannot hold; the CSV and Parquet files keep them whole"
        )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(exports.folder)),
            "files": dg.MetadataValue.table(
                records=[dg.TableRecord({"file": name, "rows": rows}) for name, rows in exports.files.items()],
                schema=dg.TableSchema(columns=[dg.TableColumn("file", "string"), dg.TableColumn("rows", "int")]),
            ),
            "removed": dg.MetadataValue.json(list(exports.removed)),
            "xpt_adjustments": dg.MetadataValue.json([a.record() for a in exports.xpt_adjustments]),
        }
    )
