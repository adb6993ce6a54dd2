"""The study report: one self-contained HTML file built from the published warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from orchestration.dts import STUDY_ID
from orchestration.reporting.data_management import latest_transfers, open_data_issues, transfer_log
from orchestration.reporting.efficacy import change_from_baseline, nyha_shift, trajectories
from orchestration.reporting.markup import page, report_plots, text
from orchestration.reporting.package_line import PACKAGE_CELL_ID, submission_package
from orchestration.reporting.writing import write_atomically
from orchestration.reporting.safety import adverse_events
from orchestration.reporting.subjects import baseline_characteristics, subject_flow
from orchestration.warehouse import connect

REPORT_NAME = "study_report.html"
SECTIONS = (subject_flow, baseline_characteristics, trajectories, change_from_baseline, nyha_shift,
            adverse_events, open_data_issues, transfer_log)


@dataclass(frozen=True)
class StudyReport:
    """A written report: where, and its outline (what the asset shows in its metadata)."""

    path: Path
    rows_by_section: dict[str, int]  # section anchor -> data rows shown, in page order
    plots: list[str]  # the inline plots' names, in page order


def write_study_report(published: Path, out_dir: Path) -> StudyReport:
    """Build the report from the published DuckDB file (read-only) into `out_dir/study_report.html`."""
    generated = datetime.now(timezone.utc)
    con = connect(Path(published), read_only=True)
    try:
        sections = [build(con) for build in SECTIONS]
        transfers = latest_transfers(con)
    finally:
        con.close()
    header = (
        f"<h1>RegenHeart study report: {text(STUDY_ID)}</h1>"
        '<table class="meta"><tbody>'
        f"<tr><th>Study</th><td>{text(STUDY_ID)} (RegenHeart)</td></tr>"
        f"<tr><th>Generated</th><td>{generated:%Y-%m-%d %H:%M:%S} UTC</td></tr>"
        f"<tr><th>Source</th><td>{text(Path(published).name)} (published warehouse, schema marts)</td></tr>"
        f"<tr><th>Latest transfer per site</th><td>{transfers}</td></tr>"
        f"<tr><th>Submission package</th><td id=\"{PACKAGE_CELL_ID}\">{submission_package(Path(published), Path(out_dir))}</td></tr>"
        "</tbody></table>"
    )
    document = page(f"RegenHeart ({STUDY_ID}) study report", header, sections)
    return StudyReport(
        path=write_atomically(Path(out_dir) / REPORT_NAME, document),
        rows_by_section={section.anchor: section.rows for section in sections},
        plots=[plot for section in sections for plot in report_plots(section.body)],
    )
