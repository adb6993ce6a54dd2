"""The study report: an HTML page built from the published warehouse after every publication."""

import dagster as dg

from orchestration.build_state import OUTPUT_FILES, latest_publication, record_output
from orchestration.defs.resources import WarehouseResource


@dg.asset(
    key=dg.AssetKey("study_report"),
    group_name="report",
    deps=[dg.AssetKey("published_warehouse")],
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
    from orchestration.reporting.markup import report_outline, report_plots
    from orchestration.reporting.study_report import write_study_report

    published = warehouse.published_path
    with warehouse.connection() as con:
        publication = latest_publication(con)
    path = write_study_report(published, published.parent / OUTPUT_FILES["study_report"].parent).resolve()
    with warehouse.connection() as con:
        record_output(con, "study_report", publication)
    html = path.read_text(encoding="utf-8")
    outline, plots = report_outline(html), report_plots(html)
    context.log.info(f"study report: {path} ({len(plots)} plots)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "url": dg.MetadataValue.url(path.as_uri()),
            "sections": len(outline),
            "rows_by_section": dg.MetadataValue.json(outline),
            "plots": dg.MetadataValue.json(plots),
            "bytes": path.stat().st_size,
        }
    )
