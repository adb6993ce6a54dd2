"""The statistics of marts.efficacy_summary are DuckDB's aggregates, to the bit.

The Python model computes them in one pass over int_efficacy__summary_stats sorted by PARAMCD,
AVISITN, USUBJID (memory: one parameter x visit's values), where the SQL before it used DuckDB's
`avg(x order by USUBJID)`, `stddev_samp(x order by USUBJID)` and `quantile_cont`, which hold every
value of every group in memory. Each test compares every statistic with those aggregates bit for
bit: on random data (many groups, empty ones, one or two values, NULLs, ties, groups split across
fetched chunks) and on the refreshed sample.
"""

import math
import random
import struct

import duckdb
import numpy as np
import pandas as pd
import pytest

from test_efficacy_summary import load_summary_model

STATISTICS = ["N", "MEAN", "SD", "MEDIAN", "Q1", "Q3", "MIN", "MAX", "N_CHG", "MEAN_CHG", "SD_CHG"]

# The SQL the model replaced, on a `summary_values` relation (int_efficacy__summary_stats' columns)
DUCKDB_STATISTICS = """
select
    PARAMCD, PARAMN, AVISIT, AVISITN,
    count(AVAL) as N,
    avg(AVAL order by USUBJID) as MEAN,
    stddev_samp(AVAL order by USUBJID) as SD,
    quantile_cont(AVAL, 0.5) as MEDIAN,
    quantile_cont(AVAL, 0.25) as Q1,
    quantile_cont(AVAL, 0.75) as Q3,
    min(AVAL) as MIN,
    max(AVAL) as MAX,
    count(CHG) as N_CHG,
    avg(CHG order by USUBJID) as MEAN_CHG,
    stddev_samp(CHG order by USUBJID) as SD_CHG
from summary_values
group by PARAMCD, PARAMN, AVISIT, AVISITN
"""


@pytest.fixture(scope="module")
def model():
    return load_summary_model()


def bits(value):
    """A statistic as comparable bits: NULL (None or NaN) as None, a number as its 8 bytes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return struct.pack("<d", value)
    return int(value)


def compare_with_duckdb(con, model, values_sql: str) -> int:
    """Every statistic of every parameter x visit, the model's against DuckDB's; the number compared."""
    ours = model.summary_statistics(con, values_sql)
    theirs = con.execute(f"with summary_values as ({values_sql}) {DUCKDB_STATISTICS}").df()
    ours = ours.set_index(["PARAMCD", "AVISITN"]).sort_index()
    theirs = theirs.set_index(["PARAMCD", "AVISITN"]).sort_index()
    assert list(ours.index) == list(theirs.index)
    compared = 0
    for column in STATISTICS:
        for key, mine, duck in zip(ours.index, ours[column], theirs[column]):
            assert bits(mine) == bits(duck), (column, key, mine, duck)
            compared += 1
    return compared


def random_values(con, seed: int, groups: int) -> str:
    """A random summary_values table: per group 0..12 records mostly, a few of 1,000..6,000 (split
    across fetched chunks), AVAL and CHG with NULLs, ties, decimals, large and tiny magnitudes,
    inserted in random order; a group without records has one row without values."""
    rng = random.Random(seed)
    rows = []
    for group in range(groups):
        paramcd, avisitn = f"P{group // 5:03d}", group % 5
        size = rng.choice([0, 0, 1, 1, 2, 2, 3, 4, 5, 7, 12]) if group % 40 else rng.randint(1000, 6000)
        kind = rng.randrange(5)
        if size == 0:
            rows.append((paramcd, group // 5, f"V{avisitn}", avisitn, None, None, None))
        for subject in rng.sample(range(10 * size + 10), size):
            if kind == 0:
                aval = rng.uniform(-1e3, 1e3)
            elif kind == 1:
                aval = float(rng.randint(0, 4))  # ties
            elif kind == 2:
                aval = round(rng.gauss(50, 12), 1)
            elif kind == 3:
                aval = rng.choice([1e-300, 3e300, -2.5, 0.1, 0.2, 0.3, 7.0, 1e16, 1.0])
            else:
                aval = rng.lognormvariate(5, 2)
            chg = None if rng.random() < 0.2 else aval - round(rng.gauss(40, 10), 2)
            if rng.random() < 0.1:
                aval = None
            rows.append((paramcd, group // 5, f"V{avisitn}", avisitn, f"S-{subject:06d}", aval, chg))
    rng.shuffle(rows)
    frame = pd.DataFrame(rows, columns=["PARAMCD", "PARAMN", "AVISIT", "AVISITN", "USUBJID", "AVAL", "CHG"])
    con.register("random_frame", frame)
    con.execute(
        "create or replace table summary_values as select PARAMCD::varchar as PARAMCD, "
        "PARAMN::integer as PARAMN, AVISIT::varchar as AVISIT, AVISITN::integer as AVISITN, "
        "USUBJID::varchar as USUBJID, AVAL::double as AVAL, CHG::double as CHG from random_frame"
    )
    con.unregister("random_frame")
    return "select * from summary_values"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_statistics_are_duckdbs_on_random_data(model, seed):
    con = duckdb.connect()
    try:
        values_sql = random_values(con, seed, groups=400)
        assert compare_with_duckdb(con, model, values_sql) == 400 * len(STATISTICS)
    finally:
        con.close()


def test_statistics_are_duckdbs_across_chunk_boundaries(model, monkeypatch):
    # chunks of 2,048 rows: most large groups and some small ones straddle two chunks
    monkeypatch.setattr(model, "VECTORS_PER_CHUNK", 1)
    con = duckdb.connect()
    try:
        assert compare_with_duckdb(con, model, random_values(con, 4, groups=200)) == 200 * len(STATISTICS)
    finally:
        con.close()


def test_statistics_of_no_one_and_two_values(model):
    empty, one, two = np.array([]), np.array([7.25]), np.array([1.0, 4.0])
    assert model.describe(empty, empty)["N"] == 0
    assert all(math.isnan(model.describe(empty, empty)[s]) for s in STATISTICS if not s.startswith("N"))
    single = model.describe(one, one)
    assert single["N"] == 1 and single["MEAN"] == single["MEDIAN"] == single["Q1"] == single["MAX"] == 7.25
    assert math.isnan(single["SD"]) and math.isnan(single["SD_CHG"])
    pair = model.describe(two, two)
    assert (pair["MEAN"], pair["Q1"], pair["MEDIAN"], pair["Q3"]) == (2.5, 1.75, 2.5, 3.25)
    assert pair["SD"] == math.sqrt(4.5)


def test_statistics_hand_computed(model):
    """The example of the unit test summary_stats_efficacy_population (the values of each visit)."""
    def describe(aval, chg):
        return model.describe(np.array(aval, dtype=float), np.array(chg, dtype=float))

    # LVEFECHO Baseline: 30 x 4, no change
    assert describe([30, 30, 30, 30], []) == pytest.approx(
        {"N": 4, "MEAN": 30, "SD": 0, "MEDIAN": 30, "Q1": 30, "Q3": 30, "MIN": 30, "MAX": 30,
         "N_CHG": 0, "MEAN_CHG": math.nan, "SD_CHG": math.nan}, nan_ok=True)
    # Month 1: SD sqrt((9 + 9 + 9 + 81) / 3) = 6, Q3 27 + 0.25 x 12 = 30
    assert describe([27, 27, 27, 39], [-3, -3, -3, 9]) == pytest.approx(
        {"N": 4, "MEAN": 30, "SD": 6, "MEDIAN": 27, "Q1": 27, "Q3": 30, "MIN": 27, "MAX": 39,
         "N_CHG": 4, "MEAN_CHG": 0, "SD_CHG": 6})
    # Month 3: one value, no SD
    assert describe([40], [10]) == pytest.approx(
        {"N": 1, "MEAN": 40, "SD": math.nan, "MEDIAN": 40, "Q1": 40, "Q3": 40, "MIN": 40, "MAX": 40,
         "N_CHG": 1, "MEAN_CHG": 10, "SD_CHG": math.nan}, nan_ok=True)
    # NTPROBNP Month 6: 10, 20, 30 and two changes of -5
    assert describe([10, 20, 30], [-5, -5]) == pytest.approx(
        {"N": 3, "MEAN": 20, "SD": 10, "MEDIAN": 20, "Q1": 15, "Q3": 25, "MIN": 10, "MAX": 30,
         "N_CHG": 2, "MEAN_CHG": -5, "SD_CHG": 0})


def test_fused_multiply_add_rounds_once(model):
    # 0.1 x 10 is 1.0000000000000000555..., so minus 1 once rounded it is 2^-54 (0 rounded twice)
    assert model.fused_multiply_add(0.1, 10.0, -1.0) == 2.0**-54
    assert model.fused_multiply_add(2.0, 3.0, 1.0) == 7.0
    assert math.isinf(model.fused_multiply_add(1e308, 10.0, 0.0))


def test_sample_summary_is_duckdbs(model, sample_build):
    """marts.efficacy_summary of the refreshed sample: every statistic bit for bit DuckDB's over
    int_efficacy__summary_stats, and the t columns those of the statistics."""
    con = duckdb.connect(str(sample_build), read_only=True)
    try:
        values_sql = "select * from intermediate.int_efficacy__summary_stats"
        theirs = con.execute(f"with summary_values as ({values_sql}) {DUCKDB_STATISTICS}").df()
        mart = con.execute("select * from marts.efficacy_summary").df()
    finally:
        con.close()
    theirs = theirs.set_index(["PARAMCD", "AVISITN"]).sort_index()
    mart = mart.set_index(["PARAMCD", "AVISITN"]).sort_index()
    assert list(mart.index) == list(theirs.index) and len(mart) == 23 * 4
    for column in STATISTICS:
        assert [bits(v) for v in mart[column]] == [bits(v) for v in theirs[column]], column
    t = model.t_inference(theirs["N_CHG"], theirs["MEAN_CHG"], theirs["SD_CHG"])
    for column in ("CI95_LOW", "CI95_HIGH", "P_TTEST"):
        assert [bits(v) for v in mart[column]] == [bits(v) for v in t[column]], column
