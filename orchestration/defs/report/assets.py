"""The study report: an HTML page built from the published warehouse after every publication."""

import dagster as dg

from orchestration.defs.resources import WarehouseResource


@dg.asset(
    key=dg.AssetKey("study_report"),
    group_name="report",
    deps=[dg.AssetKey("published_warehouse")],
    kinds={"html"},
    description=(
        "reports/study_report.html beside REGENHEART_WAREHOUSE: subject flow, baseline, LVEF and NT-proBNP "
        "trajectories, change from baseline, NYHA shift, adverse events, open data issues and the transfer "
        "log, read from the published file; one self-contained page (inline SVG, no network)."
    ),
)
def study_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Imported here, not with the definitions: matplotlib and scipy take about a second, and every CLI
    # command and sensor tick loads the definitions.
    from orchestration.reporting import report_outline, write_study_report

    published = warehouse.published_path
    path = write_study_report(published, published.parent / "reports").resolve()
    outline = report_outline(path.read_text(encoding="utf-8"))
    context.log.info(f"study report: {path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "url": dg.MetadataValue.url(path.as_uri()),
            "sections": len(outline),
            "rows_by_section": dg.MetadataValue.json(outline),
            "bytes": path.stat().st_size,
        }
    )
