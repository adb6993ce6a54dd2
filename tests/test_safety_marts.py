"""Safety marts (adsl, adae, safety_summary) end to end: hand-checked values on the shipped sample and
on a crafted transfer that walks the onset-imputation and disposition edge cases through staging.

The dbt unit tests (dbt_project/models/*/safety/_safety__unit_tests.yml) pin each rule on its own;
these tests check that the rules hold with the real staging in front of them.
"""

import duckdb
import pytest

from conftest import build_database, run_refresh
from transfer_factory import minimal_rows, write_transfer

SITE = "KZ95"
EXTRACT = "20210101T020000Z"


def _usubjid(subjid, site="KZ01"):
    return f"NCT04325594-{site}-{subjid}"


@pytest.fixture(scope="module")
def sample(sample_build):
    with duckdb.connect(str(sample_build), read_only=True) as con:
        yield con


def test_sample_adsl(sample):
    # 30 infused subjects and the screen failure 031, who answered IN05 N and was never infused
    assert sample.execute("SELECT count(*), count(SAFFL), count(ELIGFL) FROM marts.adsl").fetchone() == (31, 30, 30)
    assert sample.execute(
        "SELECT min(N_CRIT), max(N_CRIT), min(N_CRIT_MET) FROM intermediate.int_safety__eligibility WHERE USUBJID <> ?",
        [_usubjid("031")],
    ).fetchone() == (24, 24, 24), "every other subject answers all 24 criteria of the code list as eligible"
    assert sample.execute(
        "SELECT N_CRIT, N_CRIT_MET, N_CRIT_NOT_MET, N_CRIT_MISSING, ELIGFL FROM intermediate.int_safety__eligibility "
        "WHERE USUBJID = ?", [_usubjid("031")],
    ).fetchone() == (24, 23, 1, 0, None)
    assert sample.execute(
        "SELECT SAFFL, EFFFL, TRTSDT, EOSSTT, BLVEF FROM marts.adsl WHERE USUBJID = ?", [_usubjid("031")]
    ).fetchone() == (None, None, None, "ONGOING", None), "never infused, no disposition record"
    row = sample.execute(
        "SELECT AGE, AGEU, TRTSDTM::varchar, TRTSDT::varchar, EOSSTT, EOSDT::varchar, COMPLFL FROM marts.adsl WHERE USUBJID = ?",
        [_usubjid("001")],
    ).fetchone()
    assert row == (46, "YEARS", "2020-04-13 14:20:00", "2020-04-13", "COMPLETED", "2020-10-03", "Y"), "consent 2020, born 1974"
    died = sample.execute(
        "SELECT DTHFL, DTHDT::varchar, EOSSTT, EOSDT::varchar, DCSREAS, COMPLFL FROM marts.adsl WHERE USUBJID = ?",
        [_usubjid("006")],
    ).fetchone()
    assert died == ("Y", "2021-01-12", "DISCONTINUED", "2021-01-12", "DEATH", None)
    withdrew = sample.execute(
        "SELECT DTHFL, EOSSTT, EOSDT::varchar, DCSREAS FROM marts.adsl WHERE USUBJID = ?", [_usubjid("007")]
    ).fetchone()
    assert withdrew == (None, "DISCONTINUED", "2021-02-03", "WITHDRAWAL BY SUBJECT")
    assert sample.execute(
        "SELECT TRTSDTM, TRTSDT::varchar FROM marts.adsl WHERE USUBJID = ?", [_usubjid("014")]
    ).fetchone() == (None, "2021-03-23"), "infusion recorded without a time"
    assert sample.execute("SELECT count(*) FROM marts.adsl WHERE DTHFL = 'Y'").fetchone() == (1,)


def test_sample_adae_imputation(sample):
    assert sample.execute("SELECT count(*) FROM marts.adae").fetchone() == (48,), "every AE of ae.csv, none dropped"
    rows = {r[0]: r[1:] for r in sample.execute(
        "SELECT SRCRECID, ASTDT::varchar, ASTDTF, ASTDY, TRTEMFL, PRIMWFL, AREL FROM marts.adae"
    ).fetchall()}
    assert rows["016-001"] == ("2021-06-03", "D", 1, "Y", "Y", "NOT RELATED"), "2021-06 holds TRTSDT 2021-06-03"
    assert rows["017-003"] == ("2021-08-01", "D", 32, "Y", None, "NOT RELATED"), "2021-08 is after TRTSDT 2021-07-01"
    assert rows["018-004"] == ("2021-08-10", "M", 1, "Y", "Y", "NOT RELATED"), "2021 holds TRTSDT 2021-08-10"
    assert rows["015-001"] == ("2021-04-28", None, 1, "Y", "Y", "RELATED"), "date-only onset on the infusion date"
    assert rows["014-001"] == ("2021-04-12", None, 21, "Y", None, "NOT RELATED"), "infusion 2021-03-23 without time"
    assert rows["001-001"] == ("2020-04-14", None, 2, "Y", "Y", "RELATED")


def test_sample_safety_summary(sample):
    summary = {(r[0], r[1], r[2], r[3]): r[4:] for r in sample.execute(
        "SELECT PERIOD, LEVEL, AEBODSYS, AEDECOD, N_SUBJ, round(PCT_SUBJ, 4), N_EVENTS, N_SUBJ_SERIOUS, "
        "N_SUBJ_RELATED, N_SUBJ_SEVERE FROM marts.safety_summary"
    ).fetchall()}
    # 28 AEs with onset on days 1..5 in 21 subjects; no serious or severe one among them.
    assert summary[("PRIMARY WINDOW", "ANY", None, None)] == (21, 70.0, 28, 0, 18, 0)
    # All 48 AEs start on or after the infusion: 28 subjects (026 and 027 have none); serious in 006,
    # 013, 018, 022; severe in 006, 013, 018.
    assert summary[("OVERALL", "ANY", None, None)] == (28, round(100 * 28 / 30, 4), 48, 4, 18, 3)
    assert summary[("OVERALL", "PT", "Cardiac disorders", "Cardiac failure")] == (9, 30.0, 9, 2, 0, 2)
    assert summary[("OVERALL", "PT", "Infections and infestations", "Viral upper respiratory tract infection")] == (
        5, round(100 * 5 / 30, 4), 5, 0, 0, 0)
    assert summary[("OVERALL", "SOC", "Infections and infestations", None)] == (7, round(100 * 7 / 30, 4), 8, 2, 0, 1)


def _ae(recid, onset, rel="NOT RELATED", subjid="001", out="RECOVERED", end="2020-12-01"):
    row = dict(minimal_rows(subjid)["ae"][0])
    row.update({"RECID": recid, "AESPID": recid, "AESTDTC": onset, "AEREL": rel, "AEOUT": out, "AEENDTC": end})
    return row


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """Site KZ95, extract date 2021-01-01, consent 2020-03-02 for all.

    001: infused 2020-03-20T10:30, only IN01 answered (not eligible), no disposition (ONGOING).
    002: infused 2020-04-01 without a time, all 24 criteria met, two non-completion records.
    003: never infused (not SAFFL), a fatal AE ending 2020-05-10.
    """
    root = tmp_path_factory.mktemp("safety")
    rows = {key: [] for key in minimal_rows()}
    for subjid in ("001", "002", "003"):
        for key, value in minimal_rows(subjid).items():
            if key not in ("ae", "ds", "ex", "ie"):
                rows[key].extend(value)
    rows["ex"] = [minimal_rows("001")["ex"][0], {**minimal_rows("002")["ex"][0], "EXSTDTC": "2020-04-01"}]
    rows["ie"] = [minimal_rows("001")["ie"][0]] + [
        {"RECID": f"IE002-{code}", "SUBJID": "002", "IETESTCD": code, "IEORRES": "Y" if code.startswith("IN") else "N"}
        for code in [f"IN{i:02d}" for i in range(1, 10)] + [f"EX{i:02d}" for i in range(1, 16)]
    ]
    rows["ds"] = [
        {"RECID": "DS1", "SUBJID": "002", "DSDECOD": "LOST TO FOLLOW-UP", "DSSTDTC": "2020-08-01"},
        {"RECID": "DS2", "SUBJID": "002", "DSDECOD": "withdrawal by subject", "DSSTDTC": "2020-07-01"},
    ]
    rows["ae"] = [
        _ae("A01", "2020-13"),                      # not a date: kept, onset unknown
        _ae("A02", ""),                             # missing onset: kept
        _ae("A03", "2020-03", rel=""),              # month of the infusion -> TRTSDT; missing AEREL -> RELATED
        _ae("A04", "2020", rel="possibly related"),  # year of the infusion -> TRTSDT
        _ae("A05", "2020-03-20T09:00"),             # before TRTSDTM 10:30: not treatment-emergent
        _ae("A06", "2020-03-20"),                   # infusion date, no time: treatment-emergent
        _ae("A07", "2020-03-24"),                   # day 5
        _ae("A08", "2020-03-25"),                   # day 6
        _ae("A09", "2020-04", rel="UNLIKELY RELATED"),  # month after the infusion month -> 2020-04-01
        _ae("B01", "2020-04-01T08:00", subjid="002"),  # infusion without time: same date counts
        _ae("B02", "2020-03-31T23:00", subjid="002"),  # the day before
        _ae("C01", "2020-05-01", subjid="003", out="FATAL", end="2020-05-10"),
    ]
    landing = root / "landing"
    write_transfer(landing, SITE, EXTRACT, rows)
    warehouse = root / "warehouse.duckdb"
    result = run_refresh(landing, warehouse)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        yield con


def test_crafted_adae(crafted):
    rows = {r[0]: r[1:] for r in crafted.execute(
        "SELECT SRCRECID, ASTDT::varchar, ASTDTM::varchar, ASTDTF, ASTDY, TRTEMFL, PRIMWFL, AREL FROM marts.adae"
    ).fetchall()}
    assert rows == {
        "A01": (None, None, None, None, "Y", None, "NOT RELATED"),
        "A02": (None, None, None, None, "Y", None, "NOT RELATED"),
        "A03": ("2020-03-20", None, "D", 1, "Y", "Y", "RELATED"),
        "A04": ("2020-03-20", None, "M", 1, "Y", "Y", "RELATED"),
        "A05": ("2020-03-20", "2020-03-20 09:00:00", None, 1, None, None, "NOT RELATED"),
        "A06": ("2020-03-20", None, None, 1, "Y", "Y", "NOT RELATED"),
        "A07": ("2020-03-24", None, None, 5, "Y", "Y", "NOT RELATED"),
        "A08": ("2020-03-25", None, None, 6, "Y", None, "NOT RELATED"),
        "A09": ("2020-04-01", None, "D", 13, "Y", None, "NOT RELATED"),
        "B01": ("2020-04-01", "2020-04-01 08:00:00", None, 1, "Y", "Y", "NOT RELATED"),
        "B02": ("2020-03-31", "2020-03-31 23:00:00", None, -1, None, None, "NOT RELATED"),
    }, "C01 belongs to a subject never infused"


def test_crafted_adsl(crafted):
    rows = {r[0]: r[1:] for r in crafted.execute(
        "SELECT SUBJID, SAFFL, ELIGFL, EOSSTT, EOSDT::varchar, DCSREAS, DTHFL, DTHDT::varchar FROM marts.adsl"
    ).fetchall()}
    assert rows == {
        "001": ("Y", None, "ONGOING", None, None, None, None),
        "002": ("Y", "Y", "DISCONTINUED", "2020-07-01", "WITHDRAWAL BY SUBJECT", None, None),
        "003": (None, None, "ONGOING", None, None, "Y", "2020-05-10"),
    }


def test_crafted_safety_summary(crafted):
    summary = {(r[0], r[1], r[3]): r[4:] for r in crafted.execute(
        "SELECT PERIOD, LEVEL, AEBODSYS, AEDECOD, N_SUBJ, PCT_SUBJ, N_EVENTS, N_SUBJ_RELATED FROM marts.safety_summary"
    ).fetchall()}
    # SAFFL: 001 and 002. Primary window: A03, A04, A06, A07 (001) and B01 (002); overall adds A01,
    # A02, A08, A09. All share one PT (Chest pain).
    assert summary[("PRIMARY WINDOW", "ANY", None)] == (2, 100.0, 5, 1)
    assert summary[("PRIMARY WINDOW", "PT", "Chest pain")] == (2, 100.0, 5, 1)
    assert summary[("OVERALL", "ANY", None)] == (2, 100.0, 9, 1)
