"""Treatment-emergent adverse events by SOC and PT (marts.safety_summary)."""

from __future__ import annotations

import duckdb

from orchestration.reporting.markup import Section, figure, number, table, text
from orchestration.reporting.queries import records
from orchestration.reporting.svg_plots import onset_days_svg

PERIODS = {"PRIMARY WINDOW": "Primary safety window (study days 1–5)", "OVERALL": "Whole study"}
COLUMNS = ["System organ class / preferred term", "Subjects", "% of subjects", "Events",
           "Subjects with serious AE", "Subjects with related AE", "Subjects with severe AE"]
NOT_CODED = "(not coded)"

# ANY first, then each SOC (most subjects first) followed by its PTs (most subjects first).
SAFETY_SQL = """
SELECT s.*, coalesce(soc.N_SUBJ, 0) AS SOC_N_SUBJ
FROM marts.safety_summary AS s
LEFT JOIN marts.safety_summary AS soc
    ON soc.PERIOD = s.PERIOD AND soc.LEVEL = 'SOC' AND soc.AEBODSYS IS NOT DISTINCT FROM s.AEBODSYS
WHERE s.PERIOD = ?
ORDER BY s.LEVEL <> 'ANY', SOC_N_SUBJ DESC, s.AEBODSYS, s.LEVEL <> 'SOC', s.N_SUBJ DESC, s.AEDECOD
"""

SAFETY_POPULATION_SQL = "SELECT count(*) AS n FROM marts.adsl WHERE SAFFL = 'Y'"

PRIMARY_WINDOW_DAYS = (1, 2, 3, 4, 5)
ONSET_SQL = """
SELECT ASTDY, coalesce(AESEV, '') AS AESEV, count(*) AS events
FROM marts.adae
WHERE PRIMWFL = 'Y'
GROUP BY ALL
"""
ONSET_SUBJECTS_SQL = "SELECT ASTDY, count(DISTINCT USUBJID) AS subjects FROM marts.adae WHERE PRIMWFL = 'Y' GROUP BY ASTDY"
NO_ONSET_SQL = "SELECT count(*) AS n FROM marts.adae WHERE TRTEMFL = 'Y' AND ASTDY IS NULL"
SEVERITIES = ("MILD", "MODERATE", "SEVERE")


def term(value: str | None) -> str:
    return NOT_CODED if value == "" else value or ""


def adverse_events(con: duckdb.DuckDBPyConnection) -> Section:
    population = records(con, SAFETY_POPULATION_SQL)[0]["n"]
    parts, row_count = [], 0
    for period, title in PERIODS.items():
        summary = records(con, SAFETY_SQL, [period])
        rows, classes = [], []
        for r in summary:
            level = r["LEVEL"]
            name = {"ANY": "Any adverse event", "SOC": term(r["AEBODSYS"])}.get(level, term(r["AEDECOD"]))
            rows.append((name, r["N_SUBJ"], number(r["PCT_SUBJ"], 1), r["N_EVENTS"], r["N_SUBJ_SERIOUS"],
                         r["N_SUBJ_RELATED"], r["N_SUBJ_SEVERE"]))
            classes.append(f"level-{level.lower()}")
        parts.append(f"<h3>{text(title)} (PERIOD {text(period)})</h3>")
        table_id = "ae-" + period.lower().replace(" ", "-")
        parts.append(table(table_id, COLUMNS, rows, empty=f"no {period} rows in safety_summary",
                           numeric=range(1, len(COLUMNS)), row_classes=classes))
        if period == "PRIMARY WINDOW":
            parts.append(_onset_plot(con, population))
        row_count += len(rows)
    return Section(
        anchor="adverse-events",
        title="Adverse events",
        summary=f"Treatment-emergent AEs of the {population} infused subjects (SAFFL = Y), in the primary window "
                "and over the whole study, by system organ class and preferred term, from marts.safety_summary "
                "(N_SUBJ, PCT_SUBJ, N_EVENTS and the subjects with a serious, related or severe AE). "
                "Preferred terms are indented under their SOC.",
        body="".join(parts),
        rows=row_count,
    )


def _onset_plot(con: duckdb.DuckDBPyConnection, population: int) -> str:
    """Treatment-emergent AEs of the primary window by study day of onset and severity."""
    events: dict[str, dict[int, int]] = {}
    for r in records(con, ONSET_SQL):
        events.setdefault(r["AESEV"], {})[r["ASTDY"]] = r["events"]
    if not events:
        return ""  # the table above already says there is none
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    events = dict(sorted(events.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
    subjects = {r["ASTDY"]: r["subjects"] for r in records(con, ONSET_SUBJECTS_SQL)}
    svg = onset_days_svg("teae-onset", f"Treatment-emergent AEs by day of onset, days 1–5 (N={population} infused)",
                         PRIMARY_WINDOW_DAYS, events, subjects)
    undated = records(con, NO_ONSET_SQL)[0]["n"]
    return figure(svg, "Adverse events with PRIMWFL = Y in marts.adae by ASTDY (day 1 = infusion day) and AESEV; "
                       f"n = subjects with an onset that day, N = SAFFL subjects. {undated} treatment-emergent "
                       "AE(s) without a usable onset date count as treatment-emergent but have no day to be drawn at.")
