"""Subject flow and baseline characteristics (marts.adsl, marts.adeff)."""

from __future__ import annotations

import duckdb

from orchestration.reporting.markup import Section, count_percent, number, table
from orchestration.reporting.queries import records

FOLLOW_UP_VISITS = ("Month 1", "Month 3", "Month 6")

FLOW_SQL = """
SELECT
    count(*) AS enrolled,
    count(*) FILTER (WHERE ELIGFL = 'Y') AS eligible,
    count(*) FILTER (WHERE SAFFL = 'Y') AS infused,
    count(*) FILTER (WHERE EOSSTT = 'COMPLETED') AS completed,
    count(*) FILTER (WHERE EOSSTT = 'DISCONTINUED' AND DCSREAS IS DISTINCT FROM 'DEATH') AS withdrawn,
    count(*) FILTER (WHERE DTHFL = 'Y') AS died,
    count(*) FILTER (WHERE EOSSTT = 'ONGOING') AS ongoing
FROM marts.adsl
"""

SEEN_SQL = """
SELECT AVISIT, count(DISTINCT USUBJID) AS subjects
FROM marts.adeff
WHERE ANL01FL = 'Y' AND AVISIT IN ('Month 1', 'Month 3', 'Month 6')
GROUP BY AVISIT
"""

WITHDRAWAL_REASONS_SQL = """
SELECT DCSREAS, count(*) AS subjects
FROM marts.adsl
WHERE EOSSTT = 'DISCONTINUED' AND DCSREAS IS DISTINCT FROM 'DEATH'
GROUP BY DCSREAS
ORDER BY subjects DESC, DCSREAS
"""


def subject_flow(con: duckdb.DuckDBPyConnection) -> Section:
    flow = records(con, FLOW_SQL)[0]
    seen = {r["AVISIT"]: r["subjects"] for r in records(con, SEEN_SQL)}
    reasons = ", ".join(f"{r['DCSREAS']} {r['subjects']}" for r in records(con, WITHDRAWAL_REASONS_SQL))
    rows = [
        ("Enrolled", flow["enrolled"], "rows of adsl"),
        ("Eligible", flow["eligible"], "ELIGFL = Y"),
        ("Infused", flow["infused"], "SAFFL = Y"),
        *[(f"Seen at {visit}", seen.get(visit, 0), f"any ANL01FL record of adeff at AVISIT {visit}")
          for visit in FOLLOW_UP_VISITS],
        ("Completed", flow["completed"], "EOSSTT = COMPLETED"),
        ("Withdrawn", flow["withdrawn"],
         "EOSSTT = DISCONTINUED, DCSREAS other than DEATH" + (f" ({reasons})" if reasons else "")),
        ("Died", flow["died"], "DTHFL = Y (a death at any time)"),
        ("Ongoing", flow["ongoing"], "EOSSTT = ONGOING (no end-of-study record yet)"),
    ]
    return Section(
        anchor="subject-flow",
        title="Subject flow",
        summary="Subjects at each step of the study, from marts.adsl (flags, end of study) and marts.adeff "
                "(visits with an analysed value).",
        body=table("subject-flow-table", ["Step", "Subjects", "Definition"], rows if flow["enrolled"] else [],
                   empty="no subjects", numeric=[1]),
        rows=len(rows) if flow["enrolled"] else 0,
    )


NUMERIC_SQL = """
SELECT
    count(*) AS n,
    count(AGE) AS age_n, avg(AGE) AS age_mean, stddev_samp(AGE) AS age_sd,
    count(BLVEF) AS blvef_n, avg(BLVEF) AS blvef_mean, stddev_samp(BLVEF) AS blvef_sd,
    count(BSMWD) AS bsmwd_n, avg(BSMWD) AS bsmwd_mean, stddev_samp(BSMWD) AS bsmwd_sd,
    count(BNTPROBN) AS bntprobn_n, quantile_cont(BNTPROBN, 0.5) AS bntprobn_median,
    quantile_cont(BNTPROBN, 0.25) AS bntprobn_q1, quantile_cont(BNTPROBN, 0.75) AS bntprobn_q3
FROM marts.adsl
WHERE SAFFL = 'Y'
"""

CATEGORIES_SQL = """
SELECT '{column}' AS variable, CAST({column} AS VARCHAR) AS category, count(*) AS subjects
FROM marts.adsl
WHERE SAFFL = 'Y'
GROUP BY {column}
"""

CATEGORICAL = {"SEX": "Sex", "BNYHA": "Baseline NYHA class (BNYHA)", "ICDIMP": "ICD implanted (ICDIMP)"}


def _mean_sd(stats: dict, prefix: str) -> tuple[int, str]:
    return stats[f"{prefix}_n"], f"{number(stats[f'{prefix}_mean'])} ({number(stats[f'{prefix}_sd'])})"


def baseline_characteristics(con: duckdb.DuckDBPyConnection) -> Section:
    stats = records(con, NUMERIC_SQL)[0]
    total = stats["n"]
    categories = records(con, " UNION ALL ".join(CATEGORIES_SQL.format(column=c) for c in CATEGORICAL))
    rows: list[tuple[str, object, str]] = [("Subjects (SAFFL = Y)", total, "")]
    rows.append(("Age (years), mean (SD)", *_mean_sd(stats, "age")))
    rows.append(("Baseline LVEF (BLVEF, %), mean (SD)", *_mean_sd(stats, "blvef")))
    rows.append((
        "Baseline NT-proBNP (BNTPROBN, pg/mL), median (Q1–Q3)", stats["bntprobn_n"],
        f"{number(stats['bntprobn_median'], 0)} "
        f"({number(stats['bntprobn_q1'], 0)}–{number(stats['bntprobn_q3'], 0)})",
    ))
    rows.append(("Baseline 6-minute walk (BSMWD, m), mean (SD)", *_mean_sd(stats, "bsmwd")))
    for column, label in CATEGORICAL.items():
        counts = sorted((r for r in categories if r["variable"] == column),
                        key=lambda r: (r["category"] is None, r["category"] or ""))
        for r in counts:
            category = "missing" if r["category"] is None else _category(r["category"])
            rows.append((f"{label}: {category}, n (%)", total, count_percent(r["subjects"], total)))
    return Section(
        anchor="baseline",
        title="Baseline characteristics",
        summary="Infused subjects (SAFFL = Y) at baseline, from marts.adsl; n is the number of subjects with "
                "a value. SD is the sample SD; quartiles are interpolated.",
        body=table("baseline-table", ["Characteristic", "n", "Value"], rows if total else [],
                   empty="no infused subjects", numeric=[1, 2]),
        rows=len(rows) if total else 0,
    )


def _category(value: str) -> str:
    return value[:-2] if value.endswith(".0") else value  # BNYHA 3.0 -> 3 (an averaged 2.5 stays)
