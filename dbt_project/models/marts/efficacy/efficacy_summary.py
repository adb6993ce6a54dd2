"""Contract marts.efficacy_summary: one row per PARAMCD x AVISIT over EFFFL subjects' ANL01FL records.

The descriptive statistics come from int_efficacy__summary_stats (SQL); this model adds what needs
the t distribution: the 95% t interval of the mean change (CI95_LOW, CI95_HIGH) and the two-sided
one-sample t-test of change = 0 (P_TTEST). Both need at least two changes and a non-zero SD_CHG.
"""

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = [
    "PARAMCD", "AVISIT", "AVISITN", "N", "MEAN", "SD", "MEDIAN", "Q1", "Q3", "MIN", "MAX",
    "N_CHG", "MEAN_CHG", "SD_CHG", "CI95_LOW", "CI95_HIGH", "P_TTEST",
]
INTEGER_COLUMNS = ["AVISITN", "N", "N_CHG"]
TEXT_COLUMNS = ["PARAMCD", "AVISIT"]


def t_inference(n_chg: pd.Series, mean_chg: pd.Series, sd_chg: pd.Series) -> pd.DataFrame:
    """95% t interval of the mean change and two-sided p of the one-sample t-test (NaN when undefined)."""
    n = n_chg.to_numpy(dtype=float)
    mean = mean_chg.to_numpy(dtype=float)
    sd = sd_chg.to_numpy(dtype=float)
    # defined with at least two changes and a positive SD
    defined = (n >= 2) & np.isfinite(sd) & (sd > 0) & np.isfinite(mean)
    dof = np.where(defined, n - 1, np.nan)
    standard_error = np.where(defined, sd / np.sqrt(np.where(defined, n, 1)), np.nan)
    t_quantile = stats.t.ppf(0.975, dof)
    t_statistic = mean / standard_error
    return pd.DataFrame({
        "CI95_LOW": np.where(defined, mean - t_quantile * standard_error, np.nan),
        "CI95_HIGH": np.where(defined, mean + t_quantile * standard_error, np.nan),
        "P_TTEST": np.where(defined, 2 * stats.t.sf(np.abs(t_statistic), dof), np.nan),
    }, index=n_chg.index)


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_efficacy__summary_stats").df()
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
