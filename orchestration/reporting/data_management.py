"""Open data issues and the transfer log (marts.data_issues, marts.extract_log)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.reporting.markup import Section, table, text
from orchestration.reporting.queries import records

OPEN_ISSUES_SQL = """
SELECT SITEID, RULE, SEVERITY, count(*) AS issues
FROM marts.data_issues
WHERE STATUS = 'OPEN'
GROUP BY ALL
ORDER BY SITEID, issues DESC, RULE, SEVERITY
"""

ISSUE_STATUS_SQL = "SELECT count(*) FILTER (WHERE STATUS = 'OPEN') AS open, count(*) AS total FROM marts.data_issues"


def open_data_issues(con: duckdb.DuckDBPyConnection) -> Section:
    rows = [(r["SITEID"], r["RULE"], r["SEVERITY"], r["issues"]) for r in records(con, OPEN_ISSUES_SQL)]
    status = records(con, ISSUE_STATUS_SQL)[0]
    body = (f'<p class="total">{status["open"]} open data issue(s); '
            f'{status["total"] - status["open"]} closed by a later transfer.</p>')
    body += table("open-issues-table", ["Site", "Rule", "Severity", "Open issues"], rows,
                  empty="no open data issues", numeric=[3])
    return Section(
        anchor="data-issues",
        title="Open data issues",
        summary="Data issues still present in each site's latest loaded transfer (STATUS OPEN), counted by site, "
                "rule and severity, from marts.data_issues. ERROR values are left out of the analysis; WARNING "
                "values are kept.",
        body=body,
        rows=len(rows),
    )


TRANSFERS_SQL = """
SELECT SITEID, EXTRACT_ID, STATUS, REASON, FILES, ROWS, LOADED_AT
FROM marts.extract_log
ORDER BY SITEID, EXTRACT_ID
"""

LATEST_SQL = """
SELECT SITEID, max(EXTRACT_ID) FILTER (WHERE STATUS = 'LOADED') AS latest,
       count(*) FILTER (WHERE STATUS = 'REJECTED') AS rejected
FROM marts.extract_log
GROUP BY SITEID
ORDER BY SITEID
"""


def utc(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def extraction_time(extract_id: str) -> str:
    """`20230315T020000Z` -> `2023-03-15 02:00 UTC` (the id as is when it is not a timestamp)."""
    try:
        return f"{datetime.strptime(extract_id, '%Y%m%dT%H%M%SZ'):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return extract_id


def transfer_log(con: duckdb.DuckDBPyConnection) -> Section:
    rows = [(r["SITEID"], r["EXTRACT_ID"], r["STATUS"], r["REASON"], r["FILES"], r["ROWS"], utc(r["LOADED_AT"]))
            for r in records(con, TRANSFERS_SQL)]
    return Section(
        anchor="transfers",
        title="Transfer log",
        summary="Every transfer the warehouse has seen, LOADED or REJECTED (with the reason), with the files and "
                "rows its manifest declares, from marts.extract_log. The marts read each site's latest loaded one.",
        body=table("transfer-log-table", ["Site", "Extract", "Status", "Reason", "Files", "Rows", "Loaded at"],
                   rows, empty="no transfers", numeric=[4, 5]),
        rows=len(rows),
    )


def latest_transfers(con: duckdb.DuckDBPyConnection) -> str:
    """Header lines: each site's latest loaded transfer (and how many were rejected)."""
    lines = []
    for r in records(con, LATEST_SQL):
        latest = "none loaded"
        if r["latest"]:
            latest = f"{text(r['latest'])} (extracted {text(extraction_time(r['latest']))})"
        rejected = f"; {r['rejected']} rejected" if r["rejected"] else ""
        lines.append(f"<li>{text(r['SITEID'])}: {latest}{rejected}</li>")
    return f"<ul>{''.join(lines)}</ul>" if lines else "<p class=\"none\">None: no transfers yet.</p>"
