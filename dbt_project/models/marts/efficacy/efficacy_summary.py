"""Contract marts.efficacy_summary: one row per PARAMCD x AVISIT over EFFFL subjects' ANL01FL records.

int_efficacy__summary_stats (a SQL view) gives the values summarised, per parameter x analysis
visit. This model computes the descriptive statistics in one pass over them, sorted by PARAMCD,
AVISITN, USUBJID: DuckDB's sort spills to disk, so memory holds one parameter x visit's values at a
time, not the table (DuckDB's `avg(x order by USUBJID)` and `quantile_cont` hold every value of
every group and cannot spill). Each statistic is the one DuckDB's aggregate gives, to the bit, with
sums taken in USUBJID order so that a rebuild gives the same bits
(tests/test_efficacy_summary_statistics.py compares them on random data and on the sample).

It then adds what needs the t distribution: the 95% t interval of the mean change (CI95_LOW,
CI95_HIGH) and the two-sided one-sample t-test of change = 0 (P_TTEST). Both need at least two
changes and a non-zero SD_CHG.
"""

import math
from fractions import Fraction
from typing import Iterator

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = [
    "PARAMCD", "AVISIT", "AVISITN", "N", "MEAN", "SD", "MEDIAN", "Q1", "Q3", "MIN", "MAX",
    "N_CHG", "MEAN_CHG", "SD_CHG", "CI95_LOW", "CI95_HIGH", "P_TTEST",
]
INTEGER_COLUMNS = ["AVISITN", "N", "N_CHG"]
TEXT_COLUMNS = ["PARAMCD", "AVISIT"]
KEY_COLUMNS = ["PARAMCD", "PARAMN", "AVISIT", "AVISITN"]
# Rows fetched at a time from the sorted values (vectors of 2,048 rows)
VECTORS_PER_CHUNK = 64
NULL = math.nan


def parameter_visits(session, values_sql: str) -> Iterator[tuple[tuple, np.ndarray, np.ndarray]]:
    """(PARAMCD, PARAMN, AVISIT, AVISITN), its AVAL and its CHG values in USUBJID order, one
    parameter x visit at a time, from a query of the values (int_efficacy__summary_stats' columns).

    NULLs are left out; they come as NaN, which cannot be a value (AVAL and CHG are finite: NaN and
    inf spellings do not parse)."""
    result = session.execute(
        f"select {', '.join(KEY_COLUMNS)}, AVAL, CHG from ({values_sql}) as summary_values "
        # a subject has one ANL01FL record per parameter x visit; AVAL, CHG would order duplicates
        # (the same bits on a rebuild even then). PARAMN, AVISIT keep each group's rows together.
        "order by PARAMCD, AVISITN, PARAMN, AVISIT, USUBJID, AVAL, CHG"
    )
    key, avals, chgs = None, [], []
    while not (chunk := result.fetch_df_chunk(VECTORS_PER_CHUNK)).empty:
        # the rows of a parameter x visit are consecutive: groups in order of appearance
        for chunk_key, rows in chunk.groupby(KEY_COLUMNS, sort=False, dropna=False):
            if chunk_key != key:
                if key is not None:
                    yield key, np.concatenate(avals), np.concatenate(chgs)
                key, avals, chgs = chunk_key, [], []
            aval, chg = rows["AVAL"].to_numpy(dtype=float), rows["CHG"].to_numpy(dtype=float)
            avals.append(aval[~np.isnan(aval)])
            chgs.append(chg[~np.isnan(chg)])
    if key is not None:
        yield key, np.concatenate(avals), np.concatenate(chgs)


# ---- One function per statistic, of the values in USUBJID order, NULLs left out ----------------

# N: the number of values
def count(values: np.ndarray) -> int:
    return len(values)


# MEAN: the values added one at a time in USUBJID order, starting from 0, divided by N (DuckDB's
# avg); NULL without values
def mean(values: np.ndarray) -> float:
    if len(values) == 0:
        return NULL
    return float(np.add.accumulate(np.concatenate(([0.0], values)))[-1] / len(values))


# SD: sample SD by Welford's update in USUBJID order (DuckDB's stddev_samp): at the k-th value x,
# mean' = mean + (x - mean) / k and m2' = m2 + (x - mean') (x - mean); SD = sqrt(m2 / (N - 1)); NULL
# with fewer than 2 values
def sd(values: np.ndarray) -> float:
    if len(values) < 2:
        return NULL
    k, running_mean, m2 = 0, 0.0, 0.0
    for x in values.tolist():
        k += 1
        new_mean = running_mean + (x - running_mean) / k
        m2 = m2 + (x - new_mean) * (x - running_mean)
        running_mean = new_mean
    return math.sqrt(m2 / (k - 1))


# MEDIAN, Q1, Q3 (p = 0.5, 0.25, 0.75): linear interpolation between the sorted values lo and hi at
# ranks floor(r) and ceil(r) (from 0) of r = (N - 1) p, as DuckDB's quantile_cont: lo (1 - d) + hi d
# with d = r - floor(r), lo (1 - d) + (hi d) rounded once (DuckDB's build fuses it into one
# multiply-add); NULL without values
def quantile(ordered: np.ndarray, p: float) -> float:
    if len(ordered) == 0:
        return NULL
    rank = (len(ordered) - 1) * p
    low, high = math.floor(rank), math.ceil(rank)
    lo, hi = float(ordered[low]), float(ordered[high])
    if low == high:
        return lo
    d = rank - low
    return fused_multiply_add(lo, 1.0 - d, hi * d)


def fused_multiply_add(a: float, b: float, c: float) -> float:
    """a x b + c rounded once (math.fma from Python 3.13 on), exactly with fractions."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


# MIN, MAX: the first and the last of the sorted values; NULL without values
def minimum(ordered: np.ndarray) -> float:
    return float(ordered[0]) if len(ordered) else NULL


def maximum(ordered: np.ndarray) -> float:
    return float(ordered[-1]) if len(ordered) else NULL


STATISTICS = ["N", "MEAN", "SD", "MEDIAN", "Q1", "Q3", "MIN", "MAX", "N_CHG", "MEAN_CHG", "SD_CHG"]


def describe(aval: np.ndarray, chg: np.ndarray) -> dict:
    """STATISTICS: N..MAX of AVAL and N_CHG..SD_CHG of CHG, both in USUBJID order."""
    ordered = np.sort(aval)
    return {
        "N": count(aval),
        "MEAN": mean(aval),
        "SD": sd(aval),
        "MEDIAN": quantile(ordered, 0.5),
        "Q1": quantile(ordered, 0.25),
        "Q3": quantile(ordered, 0.75),
        "MIN": minimum(ordered),
        "MAX": maximum(ordered),
        "N_CHG": count(chg),
        "MEAN_CHG": mean(chg),
        "SD_CHG": sd(chg),
    }


def summary_statistics(session, values_sql: str) -> pd.DataFrame:
    """One row per parameter x visit of the values: its key columns and describe()'s statistics."""
    rows = [
        {**dict(zip(KEY_COLUMNS, key)), **describe(aval, chg)}
        for key, aval, chg in parameter_visits(session, values_sql)
    ]
    return pd.DataFrame(rows, columns=KEY_COLUMNS + STATISTICS)


def t_inference(n_chg: pd.Series, mean_chg: pd.Series, sd_chg: pd.Series) -> pd.DataFrame:
    """95% t interval of the mean change and two-sided p of the one-sample t-test (NaN when undefined)."""
    n = n_chg.to_numpy(dtype=float)
    mean_change = mean_chg.to_numpy(dtype=float)
    sd_change = sd_chg.to_numpy(dtype=float)
    # defined with at least two changes and a positive SD
    defined = (n >= 2) & np.isfinite(sd_change) & (sd_change > 0) & np.isfinite(mean_change)
    dof = np.where(defined, n - 1, np.nan)
    standard_error = np.where(defined, sd_change / np.sqrt(np.where(defined, n, 1)), np.nan)
    t_quantile = stats.t.ppf(0.975, dof)
    t_statistic = mean_change / standard_error
    return pd.DataFrame({
        "CI95_LOW": np.where(defined, mean_change - t_quantile * standard_error, np.nan),
        "CI95_HIGH": np.where(defined, mean_change + t_quantile * standard_error, np.nan),
        "P_TTEST": np.where(defined, 2 * stats.t.sf(np.abs(t_statistic), dof), np.nan),
    }, index=n_chg.index)


def model(dbt, session):
    dbt.config(materialized="table")
    summary = summary_statistics(session, dbt.ref("int_efficacy__summary_stats").sql_query())
    summary = summary.sort_values(["PARAMN", "AVISITN"], kind="stable").reset_index(drop=True)
    summary = pd.concat(
        [summary, t_inference(summary["N_CHG"], summary["MEAN_CHG"], summary["SD_CHG"])], axis=1
    )
    result = summary[COLUMNS].copy()
    for column in INTEGER_COLUMNS:
        result[column] = result[column].astype("int32")
    for column in TEXT_COLUMNS:
        result[column] = result[column].astype(object)
    for column in set(COLUMNS) - set(INTEGER_COLUMNS) - set(TEXT_COLUMNS):
        result[column] = result[column].astype("float64")
    return result
