"""The study report: one self-contained HTML page from the published warehouse."""

from orchestration.reporting.markup import report_outline, report_plots
from orchestration.reporting.study_report import REPORT_NAME, write_study_report

__all__ = ["REPORT_NAME", "report_outline", "report_plots", "write_study_report"]
