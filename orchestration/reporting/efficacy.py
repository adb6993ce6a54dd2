"""Efficacy: trajectories of LVEF and NT-proBNP, change from baseline, NYHA shift
(marts.adeff, marts.adsl, marts.efficacy_summary)."""

from __future__ import annotations

from collections import defaultdict

import duckdb

from orchestration.reporting.confidence import mean_interval
from orchestration.reporting.markup import Section, figure, interval, none_line, number, p_value, table, text
from orchestration.reporting.queries import records
from orchestration.reporting.svg_plots import change_svg, class_shares_svg, forest_svg, trajectory_svg

TRAJECTORY_PARAMETERS = {"LVEFECHO": False, "NTPROBNP": True}  # PARAMCD -> log scale
DEFAULT_LABELS = {"LVEFECHO": "LVEF by echo (%)", "NTPROBNP": "NT-proBNP (pg/mL)"}
SHORT_NAMES = {"LVEFECHO": "LVEF by echo", "NTPROBNP": "NT-proBNP"}  # plot titles
MAX_LINES = 200  # subject lines drawn per plot: keeps a large study's report small and quick

PARAMETERS_SQL = """
SELECT PARAMCD, min(PARAM) AS PARAM, min(PARAMU) AS PARAMU, min(PARAMN) AS PARAMN FROM marts.adeff GROUP BY PARAMCD
"""

TRAJECTORY_SQL = """
SELECT e.USUBJID, e.AVISITN, e.AVAL
FROM marts.adeff AS e
JOIN marts.adsl AS s USING (USUBJID)
WHERE s.EFFFL = 'Y' AND e.PARAMCD = ? AND e.ANL01FL = 'Y' AND e.AVISITN IS NOT NULL AND e.AVAL IS NOT NULL
ORDER BY e.USUBJID, e.AVISITN
"""

VISIT_SUMMARY_SQL = """
SELECT AVISIT, AVISITN, N, MEAN, SD
FROM marts.efficacy_summary
WHERE PARAMCD = ?
ORDER BY AVISITN
"""


def _parameter_labels(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    return {r["PARAMCD"]: r for r in records(con, PARAMETERS_SQL)}


def trajectories(con: duckdb.DuckDBPyConnection) -> Section:
    labels = _parameter_labels(con)
    parts, row_count = [], 0
    for paramcd, log_scale in TRAJECTORY_PARAMETERS.items():
        label = labels.get(paramcd, {}).get("PARAM") or DEFAULT_LABELS[paramcd]
        part, rows = _trajectory(con, paramcd, label, log_scale)
        parts.append(f"<h3>{text(label)}</h3>{part}")
        row_count += rows
    return Section(
        anchor="trajectories",
        title="LVEF and NT-proBNP over time",
        summary="Each efficacy subject's analysed values by visit (marts.adeff, EFFFL subjects from marts.adsl), "
                "with the mean by visit from marts.efficacy_summary (N, MEAN, SD of AVAL). The 95% CI of the "
                "mean is computed here: MEAN ± t(0.975, N − 1) · SD / √N.",
        body="".join(parts),
        rows=row_count,
    )


def _trajectory(con: duckdb.DuckDBPyConnection, paramcd: str, label: str, log_scale: bool) -> tuple[str, int]:
    """The plot and the table of mean and CI by visit of one parameter, and the table's row count."""
    subjects: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in records(con, TRAJECTORY_SQL, [paramcd]):
        subjects[r["USUBJID"]].append((r["AVISITN"], r["AVAL"]))
    if not subjects:
        return none_line(f"no analysed {paramcd} values of efficacy subjects"), 0
    visits = [dict(r, CI=mean_interval(r["N"], r["MEAN"], r["SD"])) for r in records(con, VISIT_SUMMARY_SQL, [paramcd])]
    means = [(v["AVISITN"], v["MEAN"], v["CI"]) for v in visits if v["N"] and v["MEAN"] is not None]
    n_by_visit = {v["AVISITN"]: v["N"] or 0 for v in visits}
    drawn = _evenly_spaced(subjects, MAX_LINES)
    title = f"{SHORT_NAMES[paramcd]}: each subject and the mean (95% CI) by visit"
    svg = trajectory_svg(f"trajectory-{paramcd}", title, label, drawn, means, n_by_visit, log_scale=log_scale)
    shown = "" if len(drawn) == len(subjects) else f" ({len(drawn)} of {len(subjects)} drawn, evenly spaced)"
    caption = f"{paramcd}: one grey line per EFFFL subject (ANL01FL records of adeff){shown}; blue: mean and 95% CI "
    caption += "by visit, over all of them."
    if log_scale:
        caption += " Logarithmic axis; mean and CI are of the values, not of their logarithms."
    rows = [(v["AVISIT"], v["N"], number(v["MEAN"], 1), number(v["SD"], 1),
             interval(*(v["CI"] or (None, None)), digits=1)) for v in visits]
    summary = table(f"trajectory-{paramcd}-table", ["Visit", "N", "Mean", "SD", "95% CI of mean"], rows,
                    empty=f"no {paramcd} summary", numeric=[1, 2, 3, 4])
    return figure(svg, caption) + summary, len(rows)


def _evenly_spaced(subjects: dict, limit: int) -> dict:
    if len(subjects) <= limit:
        return subjects
    keys = list(subjects)
    chosen = [keys[i * len(keys) // limit] for i in range(limit)]
    return {key: subjects[key] for key in chosen}


CHANGE_SQL = """
SELECT s.PARAMCD, s.AVISIT, s.AVISITN, s.N_CHG, s.MEAN_CHG, s.SD_CHG, s.CI95_LOW, s.CI95_HIGH, s.P_TTEST
FROM marts.efficacy_summary AS s
LEFT JOIN (SELECT PARAMCD, min(PARAMN) AS PARAMN FROM marts.adeff GROUP BY PARAMCD) AS p USING (PARAMCD)
WHERE s.AVISIT IN ('Month 1', 'Month 3', 'Month 6')
ORDER BY p.PARAMN NULLS LAST, s.PARAMCD, s.AVISITN
"""
PRIMARY_PARAMETER = "LVEFECHO"


def change_from_baseline(con: duckdb.DuckDBPyConnection) -> Section:
    summary = records(con, CHANGE_SQL)
    labels = _parameter_labels(con)
    rows = [
        (r["PARAMCD"], labels.get(r["PARAMCD"], {}).get("PARAM"), r["AVISIT"], r["N_CHG"],
         number(r["MEAN_CHG"], 2), number(r["SD_CHG"], 2), interval(r["CI95_LOW"], r["CI95_HIGH"]),
         p_value(r["P_TTEST"]))
        for r in summary
    ]
    body = _primary_change_plot([r for r in summary if r["PARAMCD"] == PRIMARY_PARAMETER],
                                labels.get(PRIMARY_PARAMETER, {}))
    body += table("change-table", ["PARAMCD", "Parameter", "Visit", "N", "Mean change", "SD", "95% CI", "p (t-test)"],
                  rows, empty="no efficacy summary rows", numeric=[3, 4, 5, 6, 7])
    body += _forest_plot(summary)
    return Section(
        anchor="change-from-baseline",
        title="Change from baseline",
        summary="Change from baseline at Month 1, 3 and 6 for every efficacy parameter, from marts.efficacy_summary "
                "(EFFFL subjects; N_CHG, MEAN_CHG, SD_CHG, CI95_LOW–CI95_HIGH, and P_TTEST of the one-sample t-test "
                "of change = 0).",
        body=body,
        rows=len(rows),
    )


def _primary_change_plot(summary: list[dict], parameter: dict) -> str:
    """The primary endpoint's mean change by visit with the CI of efficacy_summary."""
    changes = [(r["AVISITN"], r["MEAN_CHG"], _change_interval(r)) for r in summary if r["MEAN_CHG"] is not None]
    if not changes:
        return none_line(f"no {PRIMARY_PARAMETER} change from baseline to plot")
    svg = change_svg(
        f"change-{PRIMARY_PARAMETER}", f"{SHORT_NAMES[PRIMARY_PARAMETER]}: change from baseline, mean (95% CI) by visit",
        f"Change from baseline ({_change_unit(parameter.get('PARAMU'))})", changes,
        {r["AVISITN"]: r["N_CHG"] or 0 for r in summary},
    )
    return figure(svg, f"{PRIMARY_PARAMETER}, the primary efficacy parameter: MEAN_CHG with CI95_LOW to CI95_HIGH "
                       "of marts.efficacy_summary by visit (EFFFL subjects; N = N_CHG). No bar: fewer than two "
                       "changes, or all equal.")


def _change_interval(row: dict) -> tuple[float, float] | None:
    if row["CI95_LOW"] is None or row["CI95_HIGH"] is None:
        return None
    return row["CI95_LOW"], row["CI95_HIGH"]


def _change_unit(unit: str | None) -> str:
    # A change of a percentage is in percentage points, not a percentage of it.
    return "percentage points" if unit == "%" else unit or "unit of the parameter"


def _forest_plot(summary: list[dict]) -> str:
    drawn = [r for r in summary if r["CI95_LOW"] is not None and r["CI95_HIGH"] is not None and r["SD_CHG"]]
    if not drawn:
        return none_line("no change with a confidence interval to plot")
    standardised = [
        (r["PARAMCD"], r["AVISIT"], r["MEAN_CHG"] / r["SD_CHG"], r["CI95_LOW"] / r["SD_CHG"], r["CI95_HIGH"] / r["SD_CHG"])
        for r in drawn
    ]
    n_by_visit = defaultdict(list)
    for r in drawn:
        n_by_visit[r["AVISIT"]].append(r["N_CHG"])
    return figure(
        forest_svg("forest-change", "Change from baseline of every parameter, standardised", standardised,
                   n_by_visit),
        "Mean change divided by the SD of the change, with the 95% CI divided the same way, so that parameters "
        "in different units share one axis (a display scale, not an exact CI of the effect size). The direction "
        "of benefit differs by parameter (e.g. LVEF up, NT-proBNP and NYHA class down). N per visit: the range "
        "of N_CHG over the parameters drawn.",
    )


NYHA_SQL = """
SELECT base.USUBJID, base.AVAL AS baseline, month6.AVAL AS month6
FROM (SELECT USUBJID, AVAL FROM marts.adeff WHERE PARAMCD = 'NYHA' AND ABLFL = 'Y') AS base
LEFT JOIN (
    SELECT USUBJID, AVAL FROM marts.adeff WHERE PARAMCD = 'NYHA' AND AVISIT = 'Month 6' AND ANL01FL = 'Y'
) AS month6 USING (USUBJID)
"""


NYHA_BY_VISIT_SQL = """
SELECT AVISITN, AVAL, count(*) AS subjects
FROM marts.adeff
WHERE PARAMCD = 'NYHA' AND ANL01FL = 'Y' AND AVISITN IS NOT NULL AND AVAL IS NOT NULL
GROUP BY ALL
"""


def _nyha(value: float) -> str:
    return f"{value:g}"


def nyha_shift(con: duckdb.DuckDBPyConnection) -> Section:
    pairs = records(con, NYHA_SQL)
    classes = sorted({1.0, 2.0, 3.0, 4.0} | {p["month6"] for p in pairs if p["month6"] is not None}
                     | {p["baseline"] for p in pairs if p["baseline"] is not None})
    counts: dict[tuple, int] = defaultdict(int)
    for p in pairs:
        counts[(p["baseline"], p["month6"])] += 1
    baselines = sorted({p["baseline"] for p in pairs}, key=lambda v: (v is None, v or 0))
    columns = ["Baseline class", *[f"Month 6: {_nyha(c)}" for c in classes], "No Month 6 value", "Total"]
    rows = []
    for base in baselines:
        cells = [counts[(base, c)] for c in classes] + [counts[(base, None)]]
        rows.append([_nyha(base) if base is not None else "missing", *cells, sum(cells)])
    if rows:
        rows.append(["Total", *[sum(r[i] for r in rows) for i in range(1, len(columns))]])
    paired = [p for p in pairs if p["baseline"] is not None and p["month6"] is not None]
    body = table("nyha-shift-table", columns, rows, empty="no baseline NYHA class",
                 numeric=list(range(1, len(columns))), row_classes=[""] * (len(rows) - 1) + ["level-any"])
    if paired:
        improved = sum(p["month6"] < p["baseline"] for p in paired)
        worsened = sum(p["month6"] > p["baseline"] for p in paired)
        body += (f"<p>Of {len(paired)} subjects with both: {improved} improved (lower class), "
                 f"{len(paired) - improved - worsened} unchanged, {worsened} worsened.</p>")
    body += _nyha_by_visit_plot(con)
    return Section(
        anchor="nyha-shift",
        title="NYHA class shift, baseline to Month 6",
        summary="Subjects by baseline NYHA class (the ABLFL record) and Month 6 class (the ANL01FL record of "
                "AVISIT Month 6), from marts.adeff PARAMCD NYHA.",
        body=body,
        rows=max(len(rows) - 1, 0),
    )


def _nyha_by_visit_plot(con: duckdb.DuckDBPyConnection) -> str:
    counts: dict[int, dict[float, int]] = defaultdict(dict)
    for r in records(con, NYHA_BY_VISIT_SQL):
        counts[r["AVISITN"]][r["AVAL"]] = r["subjects"]
    if not counts:
        return ""  # the table above already says there is no baseline class
    svg = class_shares_svg("nyha-by-visit", "NYHA class by visit, baseline to Month 6", counts)
    return figure(svg, "Share of subjects in each NYHA class at each visit (the ANL01FL record of marts.adeff "
                       "PARAMCD NYHA; the same subjects as the table), the number of subjects written in each part "
                       "of 6 % or more. A class that is not whole (values of one date averaged) has its own part.")
