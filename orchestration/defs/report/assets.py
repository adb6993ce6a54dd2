"""The study report: an HTML page built from the published warehouse after every publication."""

import dagster as dg

from orchestration.build_state import OUTPUT_FILES, latest_publication, record_output
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import PUBLISHED_WAREHOUSE


@dg.asset(
    key=dg.AssetKey("study_report"),
    group_name="report",
    deps=[PUBLISHED_WAREHOUSE],
    kinds={"html"},
    description=(
        "reports/study_report.html beside REGENHEART_WAREHOUSE: subject flow, baseline, LVEF and NT-proBNP "
        "trajectories, change from baseline (LVEF plot, forest plot), NYHA shift and classes by visit, adverse "
        "events with the primary window's onsets by day, open data issues and the transfer log, read from the "
        "published file; one self-contained page (inline SVG plots, no network)."
    ),
)
def study_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Imported here, not with the definitions: matplotlib and scipy take about a second, and every CLI
    # command and sensor tick loads the definitions.
    from orchestration.reporting.study_report import write_study_report

    published = warehouse.published_path
    with warehouse.connection() as con:
        publication = latest_publication(con)
    report = write_study_report(published, published.parent / OUTPUT_FILES["study_report"].parent)
    with warehouse.connection() as con:
        record_output(con, "study_report", publication)
    path = report.path.resolve()
    context.log.info(f"study report: {path} ({len(report.plots)} plots)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "url": dg.MetadataValue.url(path.as_uri()),
            "sections": len(report.rows_by_section),
            "rows_by_section": dg.MetadataValue.json(report.rows_by_section),
            "plots": dg.MetadataValue.json(report.plots),
            "bytes": path.stat().st_size,
        }
    )
