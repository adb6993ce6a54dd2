"""marts.efficacy_summary checked against an independent numpy/scipy computation.

One refresh of the sample transfers builds the warehouse; the summary of LVEFECHO and NTPROBNP is
recomputed from marts.adeff (ANL01FL records) of marts.adsl's EFFFL subjects and every column must
match to 1e-9. The t interval / p-value code of the Python model is also checked on hand-computed
values (the t distribution with 2 degrees of freedom has closed forms), and a few deliberate
features of the sample (seeds/README.md) are checked in marts.adeff.
"""

import importlib.util
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import REPO_ROOT

TOLERANCE = 1e-9
SUMMARY_COLUMNS = {
    "PARAMCD": "VARCHAR", "AVISIT": "VARCHAR", "AVISITN": "INTEGER", "N": "INTEGER",
    "MEAN": "DOUBLE", "SD": "DOUBLE", "MEDIAN": "DOUBLE", "Q1": "DOUBLE", "Q3": "DOUBLE",
    "MIN": "DOUBLE", "MAX": "DOUBLE", "N_CHG": "INTEGER", "MEAN_CHG": "DOUBLE", "SD_CHG": "DOUBLE",
    "CI95_LOW": "DOUBLE", "CI95_HIGH": "DOUBLE", "P_TTEST": "DOUBLE",
}
VISITS = [("Baseline", 0), ("Month 1", 1), ("Month 3", 3), ("Month 6", 6)]
SUBJECT = "NCT04325594-KZ01-"


@pytest.fixture(scope="module")
def query(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    yield lambda sql: con.execute(sql).df()
    con.close()


def expected_summary(values: pd.DataFrame, paramcd: str, avisit: str, avisitn: int) -> dict:
    """The contract's statistics of one PARAMCD x AVISIT, computed with numpy/scipy."""
    rows = values[(values.PARAMCD == paramcd) & (values.AVISIT == avisit)]
    aval = rows.AVAL.dropna().to_numpy(dtype=float)
    chg = rows.CHG.dropna().to_numpy(dtype=float)
    row = {"PARAMCD": paramcd, "AVISIT": avisit, "AVISITN": avisitn, "N": len(aval), "N_CHG": len(chg)}
    row["MEAN"] = aval.mean() if len(aval) else None
    row["SD"] = aval.std(ddof=1) if len(aval) >= 2 else None
    for name, q in (("Q1", 25), ("MEDIAN", 50), ("Q3", 75)):
        row[name] = np.percentile(aval, q) if len(aval) else None  # linear interpolation
    row["MIN"] = aval.min() if len(aval) else None
    row["MAX"] = aval.max() if len(aval) else None
    row["MEAN_CHG"] = chg.mean() if len(chg) else None
    row["SD_CHG"] = chg.std(ddof=1) if len(chg) >= 2 else None
    row["CI95_LOW"] = row["CI95_HIGH"] = row["P_TTEST"] = None
    if len(chg) >= 2 and np.ptp(chg) > 0:  # SD_CHG > 0
        low, high = stats.t.interval(0.95, len(chg) - 1, loc=chg.mean(), scale=stats.sem(chg))
        row["CI95_LOW"], row["CI95_HIGH"] = low, high
        row["P_TTEST"] = stats.ttest_1samp(chg, 0.0).pvalue
    return row


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_summary_columns_are_the_contracts(query):
    columns = query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'efficacy_summary' order by ordinal_position"
    )
    assert list(zip(columns.column_name, columns.data_type)) == list(SUMMARY_COLUMNS.items())


def test_summary_has_one_row_per_parameter_and_visit(query):
    keys = query("select PARAMCD, AVISIT, AVISITN from marts.efficacy_summary")
    assert not keys.duplicated(["PARAMCD", "AVISIT"]).any()
    assert len(keys) == 23 * len(VISITS)
    assert set(zip(keys.AVISIT, keys.AVISITN)) == set(VISITS)


@pytest.mark.parametrize("paramcd", ["LVEFECHO", "NTPROBNP"])
def test_summary_matches_numpy_scipy(query, paramcd):
    values = query(
        "select adeff.PARAMCD, adeff.AVISIT, adeff.AVAL, adeff.CHG "
        "from marts.adeff inner join marts.adsl using (USUBJID) "
        f"where adeff.ANL01FL = 'Y' and adsl.EFFFL = 'Y' and adeff.PARAMCD = '{paramcd}'"
    )
    summary = query(f"select * from marts.efficacy_summary where PARAMCD = '{paramcd}'")
    assert len(summary) == len(VISITS)
    assert values.AVAL.notna().sum() > 0, "the sample must have records to compare"
    for avisit, avisitn in VISITS:
        actual = summary[summary.AVISIT == avisit].iloc[0].to_dict()
        expected = expected_summary(values, paramcd, avisit, avisitn)
        for column in SUMMARY_COLUMNS:
            got, want = actual[column], expected[column]
            where = f"{paramcd} {avisit} {column}: got {got!r}, want {want!r}"
            if is_missing(want):
                assert is_missing(got), where
            elif isinstance(want, str):
                assert got == want, where
            else:
                assert not is_missing(got), where
                assert abs(float(got) - float(want)) <= TOLERANCE, where


def load_summary_model():
    path = REPO_ROOT / "dbt_project" / "models" / "marts" / "efficacy" / "efficacy_summary.py"
    spec = importlib.util.spec_from_file_location("efficacy_summary_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_t_inference_hand_computed():
    """With 2 degrees of freedom: t quantile (2u - 1) / sqrt(2u(1 - u)), two-sided p 1 - t / sqrt(2 + t^2)."""
    t_inference = load_summary_model().t_inference
    result = t_inference(
        pd.Series([3, 4, 2, 1, 0]),           # N_CHG
        pd.Series([2.0, 0.0, -5.0, 10.0, None]),  # MEAN_CHG
        pd.Series([2.0, 6.0, 0.0, None, None]),  # SD_CHG
    )
    # n = 3, mean 2, SD 2: standard error 2 / sqrt(3), t = sqrt(3)
    u = 0.975
    t_quantile = (2 * u - 1) / math.sqrt(2 * u * (1 - u))  # 4.302652729911275
    half_width = t_quantile * 2 / math.sqrt(3)
    assert result.CI95_LOW[0] == pytest.approx(2 - half_width, abs=1e-12)
    assert result.CI95_HIGH[0] == pytest.approx(2 + half_width, abs=1e-12)
    assert result.P_TTEST[0] == pytest.approx(1 - math.sqrt(3) / math.sqrt(5), abs=1e-12)
    # n = 4, mean 0, SD 6: symmetric interval, p = 1
    assert result.CI95_LOW[1] == pytest.approx(-result.CI95_HIGH[1], abs=1e-12)
    assert result.P_TTEST[1] == pytest.approx(1.0, abs=1e-12)
    # SD 0, a single change, no change: no interval, no p
    for row in (2, 3, 4):
        assert result.loc[row].isna().all()


def test_sample_visit_windows_and_baselines(query):
    adeff = query(
        "select USUBJID, PARAMCD, ADT, ADTM, ADY, AVISIT, AVAL, AVALC, BLQFL, BASE, CHG, ABLFL, "
        "ANL01FL, SRCRECID, VISIT, PREINFFL from marts.adeff"
    ).set_index(["USUBJID", "PARAMCD", "SRCRECID"]).sort_index()
    # 008: the nominal MONTH 1 echo on study day 72 is a Month 3 value, not the one used (day 105 is closer to 90)
    month1_late = adeff.loc[(SUBJECT + "008", "LVEFECHO", "008-004")]
    assert (month1_late.VISIT, month1_late.ADY, month1_late.AVISIT) == ("MONTH 1", 72, "Month 3")
    assert is_missing(month1_late.ANL01FL)
    # 024: NT-proBNP at 07:44 before the 12:40 infusion is the baseline; the 18:46 value is post-infusion
    before = adeff.loc[(SUBJECT + "024", "NTPROBNP", "024-001")]
    after = adeff.loc[(SUBJECT + "024", "NTPROBNP", "024-006")]
    assert (before.ABLFL, before.PREINFFL, before.ADY) == ("Y", "Y", 1)
    assert is_missing(after.PREINFFL) and after.ADY == 1 and after.CHG == after.AVAL - before.AVAL
    # 014: infusion without time, so a timed value on the infusion date is pre-infusion
    day1 = adeff.loc[SUBJECT + "014", "NTPROBNP"].query("ADY == 1")
    assert list(day1.PREINFFL) == ["Y"] and list(day1.ABLFL) == ["Y"]
    # 019: '<50' analysed as 25 with its text and flag
    blq = adeff.loc[(SUBJECT + "019", "NTPROBNP", "019-020")]
    assert (blq.AVAL, blq.AVALC, blq.BLQFL) == (25.0, "<50", "Y")


def test_sample_subject_visits_grid(query):
    grid = query("select USUBJID, AVISITN, NPARAM from marts.subject_visits")
    saffl = query("select USUBJID from marts.adsl where SAFFL = 'Y'")
    assert len(grid) == 4 * len(saffl)
    assert set(grid.USUBJID) == set(saffl.USUBJID)
    used = query("select USUBJID, AVISITN, count(*) as N from marts.adeff where ANL01FL = 'Y' group by all")
    merged = grid.merge(used, on=["USUBJID", "AVISITN"], how="left").fillna({"N": 0})
    assert (merged.NPARAM == merged.N).all()
