"""A self-contained HTML summary of validation reports: inline CSS, no script, no external resource.

GX's Data Docs load scripts and styles from CDNs and render badly offline; this page needs nothing
but the file itself.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; width: 100%; margin-bottom: .8em; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .25em .45em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #b42318; font-weight: bold; }
.warn { color: #9a6700; font-weight: bold; }
tr.failed-critical td { background: #fdecea; } tr.failed-warning td { background: #fff8e1; }
.muted { color: #666; } .rows { font-family: ui-monospace, monospace; font-size: .95em; }
code { font-family: ui-monospace, monospace; }
"""


def write_validation_summary(reports: list, path: Path) -> Path:
    """Write one HTML page for `reports` (LayerReport objects) to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_validation_summary(reports), encoding="utf-8")
    return path


def render_validation_summary(reports: list) -> str:
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>RegenHeart warehouse validation</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>RegenHeart warehouse validation</h1>",
        f'<p class="muted">Generated {_e(generated)}. A failed <b>critical</b> expectation blocks its layer; '
        "a failed <b>warning</b> is reported only.</p>",
        _overview(reports),
    ]
    for report in reports:
        parts.append(_layer(report))
    parts.append("</body></html>")
    return "\n".join(parts)


def _overview(reports: list) -> str:
    rows = []
    for report in reports:
        rows.append(
            "<tr>"
            f'<td><a href="#layer-{_e(report.layer)}">{_e(report.layer)}</a></td>'
            f"<td>{_state(report.passed)}</td>"
            f"<td>{len(report.suites)}</td><td>{len(report.outcomes)}</td>"
            f"<td>{len(report.critical_failures)}</td><td>{len(report.warnings)}</td>"
            f"<td>{report.seconds:.1f} s</td>"
            "</tr>"
        )
    return (
        "<table><tr><th>layer</th><th>result</th><th>suites</th><th>expectations</th>"
        "<th>critical failures</th><th>warnings</th><th>time</th></tr>" + "".join(rows) + "</table>"
    )


def _layer(report) -> str:
    parts = [f'<h2 id="layer-{_e(report.layer)}">Layer {_e(report.layer)}: {_state(report.passed)}</h2>']
    if report.new_transfers is not None:
        transfers = ", ".join(f"{site}/{extract}" for site, extract in report.new_transfers) or "none"
        parts.append(f'<p class="muted">Transfers validated: {_e(transfers)}</p>')
    if not report.suites:
        parts.append("<p>Nothing to validate.</p>")
    failed = report.critical_failures + report.warnings
    if failed:
        parts.append("<p><b>Failed expectations</b> (critical first):</p><ul>")
        parts += [f'<li class="rows">{_e(o.describe())}</li>' for o in failed]
        parts.append("</ul>")
    for suite in report.suites:
        parts.append(_suite(suite))
    return "\n".join(parts)


def _suite(suite) -> str:
    failed_critical = len(suite.critical_failures)
    failed_warning = len(suite.warnings)
    parts = [
        f"<h3>{_e(suite.name)} {_state(suite.passed)} "
        f'<span class="muted">({_e(suite.table)}, {suite.row_count} rows, {len(suite.outcomes)} expectations, '
        f"{failed_critical} critical failure(s), {failed_warning} warning(s))</span></h3>",
    ]
    if suite.description:
        parts.append(f'<p class="muted">{_e(suite.description)}</p>')
    parts.append(
        "<table><tr><th>severity</th><th>expectation</th><th>result</th><th>failing / rows</th>"
        "<th>failing rows (first 5)</th></tr>"
    )
    for outcome in suite.outcomes:
        row_class = "" if outcome.success else f' class="failed-{_e(outcome.severity)}"'
        if outcome.success:
            result = '<span class="pass">pass</span>'
        elif outcome.severity == "critical":
            result = '<span class="fail">FAIL</span>'
        else:
            result = '<span class="warn">warn</span>'
        counts = (
            f"{outcome.unexpected_count} / {outcome.element_count}"
            if outcome.unexpected_count is not None
            else (f"&ndash; / {outcome.element_count}" if outcome.element_count is not None else "&ndash;")
        )
        parts.append(
            f"<tr{row_class}><td>{_e(outcome.severity)}</td>"
            f"<td><code>{_e(outcome.expectation)}</code><br><span class=\"muted\">{_e(outcome.description)}</span></td>"
            f"<td>{result}</td><td>{counts}</td><td class=\"rows\">{_rows(outcome.failing_rows)}</td></tr>"
        )
    parts.append("</table>")
    return "\n".join(parts)


def _rows(rows: list[dict]) -> str:
    return "<br>".join(
        _e(", ".join(f"{key}={'NULL' if value is None else value}" for key, value in row.items())) for row in rows
    )


def _state(passed: bool) -> str:
    return '<span class="pass">passed</span>' if passed else '<span class="fail">FAILED</span>'


def _e(value) -> str:
    return html.escape(str(value), quote=True)
