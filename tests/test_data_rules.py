"""DTS sections 3 and 7 on crafted transfers: typing, units, plausibility and every data-issue rule;
the sample's cp1251 transfer; a rejected transfer beside good ones.

Expected values are computed by hand. One refresh builds KZ90 (UTF-8, `.` decimals) and KZ91
(cp1251, `;`, `,` decimals), extract date of both 2021-01-01, consent of subject 001 2020-03-02;
the sample's KZ01 up to its cp1251 transfer; KZ98 (good) and KZ99 (rejected). That refresh is the
second of the landing these sites share with test_history's site KZ70 (conftest `audit_landing`).
"""

import csv
import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from conftest import SAMPLE_LANDING, build_database, tree_digest
from transfer_factory import minimal_rows, write_transfer

EXTRACT = "20210101T020000Z"


def _echo(recid, visit="MONTH 1", date="2020-04-20", lvef="30", lvedv="220", lvesv="150", subjid="001", lvedd="70", lvesd="60"):
    return {"RECID": recid, "SUBJID": subjid, "VISIT": visit, "ECHODTC": date, "LVEF": lvef, "LVEDV": lvedv,
            "LVESV": lvesv, "LVEDD": lvedd, "LVESD": lvesd}


def _lab(recid, result, unit="pg/mL", test="NTPROBNP"):
    return {"RECID": recid, "SUBJID": "001", "VISIT": "MONTH 1", "LBDTC": "2020-04-20T08:00", "LBTESTCD": test,
            "LBORRES": result, "LBORRESU": unit, "LBORNRLO": "0", "LBORNRHI": "125"}


def _qs(recid, cat, code, answer):
    return {"RECID": recid, "SUBJID": "001", "VISIT": "MONTH 1", "QSDTC": "2020-04-20", "QSCAT": cat,
            "QSTESTCD": code, "QSORRES": answer}


def _ae(recid, onset):
    row = dict(minimal_rows()["ae"][0])
    row.update({"RECID": recid, "AESPID": recid, "AESTDTC": onset})
    return row


def _fs(recid, nyha, smwd):
    return {"RECID": recid, "SUBJID": "001", "VISIT": "MONTH 1", "FSDTC": "2020-04-20", "NYHA": nyha, "SMWD": smwd}


def rule_transfers(landing) -> dict:
    """The crafted rule sites, the sample's site up to its cp1251 transfer, a good transfer at KZ98
    and a rejected one at KZ99, written to `landing` (conftest `audit_landing`: its second refresh
    builds them); the rejected transfer's folder and its digest before the refresh."""
    rows = minimal_rows("001")
    rows["dm"].append({**rows["dm"][0], "RECID": "DM003", "SUBJID": "003", "SEX": "x", "BRTHYR": "19x0"})
    rows["ex"][0]["EXSTDTC"] = "2020-03-20"
    rows["echo"] = [
        _echo("EC01", "BASELINE", "2020-03-18", "27.5", "231.4", "167.8"),
        _echo("EC02", "BASELINE", "2020-03-18", "27.5", "231.4", "167.8"),  # exact duplicate of EC01 but RECID
        _echo("EC03", lvef="270"),
        _echo("EC04", "MONTH 3", "2020-06-20", lvedv="200", lvesv="210"),
        _echo("EC05", subjid="099"),
        _echo("EC06", "MONTH 6", "2021-01-02"),
        _echo("EC07", "SCREENING", "2020-03-01"),
        _echo("EC08", "UNSCHEDULED", "2020-05-05", lvef="abc"),
        _echo("EC09", "WEEK 2", "2020-05-06"),
        _echo("EC10", "month 3", "2021-01-01", lvef="80", lvesd="70"),
        _echo("EC11", "MONTH 3", "2020-07-01", lvef="4.9"),
    ]
    rows["lb"] = [
        _lab("LB01", "2480"), _lab("LB02", "1663", "ng/L"), _lab("LB03", "138.2", "pmol/L"),
        _lab("LB04", "<50"), _lab("LB05", ">35000"), _lab("LB06", "2000", "mg/dL"),
        _lab("LB07", "150000"), _lab("LB08", "<8"), _lab("LB09", "0.5", "pmol/L"),
        _lab("LB10", "76", "umol/L", "CREAT"),
    ]
    rows["fs"] = [_fs("FS01", "iii", "1000"), _fs("FS02", "V", "1000.5"), _fs("FS03", "2", "0")]
    rows["qs"] = [
        _qs("QS01", "KCCQ12", "KCCQ01", "6"), _qs("QS02", "KCCQ12", "KCCQ04", "6"),
        _qs("QS03", "MLHFQ", "MLHFQ01", "2.5"), _qs("QS04", "MLHFQ", "MLHFQ02", ""),
        _qs("QS05", "SF12", "SF12PCS", "45.5"), _qs("QS06", "SF12", "SF12XYZ", "40"),
    ]
    rows["ae"] = [
        _ae("AE01", "2020-13"), _ae("AE02", "2021"), _ae("AE03", "2021-02"), _ae("AE04", "2019"),
        _ae("AE05", "2020"), _ae("AE06", ""), _ae("AE07", "2020-03-20"),
    ]
    write_transfer(landing, "KZ90", EXTRACT, rows)

    comma_rows = minimal_rows("001")
    comma_rows["echo"] = [_echo("EC01", lvef="27,5", lvedv="231,4"), _echo("EC02", "MONTH 3", "2020-06-20", lvef="27.5")]
    comma_rows["lb"] = [_lab("LB01", "138,2", "pmol/L")]
    write_transfer(landing, "KZ91", EXTRACT, comma_rows, encoding="cp1251", delimiter=";", decimal_separator=",")

    cp1251 = cp1251_manifest()
    for extract in sorted((SAMPLE_LANDING / cp1251["site_id"]).iterdir()):
        if extract.name <= cp1251["extract_id"]:
            shutil.copytree(extract, landing / cp1251["site_id"] / extract.name)

    write_transfer(landing, "KZ98", "20210301T020000Z", minimal_rows("001", lvef="31.0"))
    rejected = write_transfer(landing, "KZ99", "20210301T020000Z")
    (rejected / "ct.csv").unlink()

    return {"rejected": str(rejected), "rejected_before": tree_digest(rejected)}


@pytest.fixture(scope="module")
def crafted(audit_landing):
    """One refresh of the rule sites, in the landing test_history's site KZ70 shares (its second
    refresh, with KZ70's broken T4 rejected too): every query here reads these sites' rows."""
    return SimpleNamespace(result=audit_landing.second, landing=audit_landing.landing,
                           warehouse=audit_landing.warehouse, rejected=Path(audit_landing.rules["rejected"]),
                           rejected_before=audit_landing.rules["rejected_before"])


@pytest.fixture(scope="module")
def warehouse(crafted):
    assert crafted.result.returncode == 1, crafted.result.stderr
    with duckdb.connect(str(build_database(crafted.warehouse)), read_only=True) as con:
        yield con


def cp1251_manifest() -> dict:
    manifests = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLE_LANDING.glob("*/*/manifest.json"))]
    [manifest] = [m for m in manifests if m["encoding"] == "cp1251"]
    return manifest


def _issues(con, site, domain):
    return sorted(con.execute(
        "SELECT SRCRECID, FIELD, VALUE, RULE, SEVERITY FROM marts.data_issues WHERE SITEID = ? AND SRCDOM = ?",
        [site, domain],
    ).fetchall())


def test_echo_values_and_rules(warehouse):
    staged = {r[0]: r[1:] for r in warehouse.execute(
        "SELECT RECID, ROW_EXCLUDED, VISIT, LVEF, LVEDV, LVESV, LVESD FROM staging.stg_edc__echo WHERE SITEID = 'KZ90'"
    ).fetchall()}
    assert "EC02" not in staged, "a row identical to EC01 but for RECID is the same value once"
    assert staged["EC01"] == (False, "BASELINE", 27.5, 231.4, 167.8, 60.0)
    assert staged["EC03"] == (False, "MONTH 1", None, 220.0, 150.0, 60.0), "LVEF 270 > 80 is excluded alone"
    assert staged["EC04"] == (False, "MONTH 3", 30.0, 200.0, None, 60.0), "LVESV above LVEDV excludes LVESV only"
    assert staged["EC10"] == (False, "MONTH 3", 80.0, 220.0, 150.0, None), "80 is plausible; LVESD = LVEDD is not below"
    assert staged["EC11"][2] is None, "4.9 < 5 is implausible"
    assert staged["EC08"][2] is None
    for excluded in ("EC05", "EC06", "EC07", "EC09"):
        assert staged[excluded][0] is True, excluded
    assert _issues(warehouse, "KZ90", "echo") == sorted([
        ("EC03", "LVEF", "270", "implausible", "ERROR"),
        ("EC04", "LVESV", "210", "not-below-LVEDV", "ERROR"),
        ("EC05", "SUBJID", "099", "unknown-subject", "ERROR"),
        ("EC06", "ECHODTC", "2021-01-02", "after-extract-date", "ERROR"),
        ("EC07", "ECHODTC", "2020-03-01", "before-consent", "ERROR"),
        ("EC08", "LVEF", "abc", "not-a-number", "ERROR"),
        ("EC09", "VISIT", "WEEK 2", "code-list", "ERROR"),
        ("EC10", "LVESD", "70", "not-below-LVEDD", "ERROR"),
        ("EC11", "LVEF", "4.9", "implausible", "ERROR"),
    ])
    usubjid = warehouse.execute("SELECT USUBJID FROM marts.data_issues WHERE SRCRECID = 'EC05'").fetchone()[0]
    assert usubjid == "NCT04325594-KZ90-099", "USUBJID is built even for an unknown subject"


def test_decimal_comma_transfer(warehouse):
    staged = warehouse.execute(
        "SELECT RECID, LVEF, LVEDV FROM staging.stg_edc__echo WHERE SITEID = 'KZ91' ORDER BY RECID"
    ).fetchall()
    assert staged == [("EC01", 27.5, 231.4), ("EC02", None, 220.0)]
    assert _issues(warehouse, "KZ91", "echo") == [("EC02", "LVEF", "27.5", "not-a-number", "ERROR")]
    assert warehouse.execute(
        "SELECT AVAL FROM intermediate.int_assessments WHERE SITEID = 'KZ91' AND PARAMCD = 'NTPROBNP'"
    ).fetchall() == [(pytest.approx(138.2 * 8.457),)]


def test_ntprobnp_units_limits_and_range(warehouse):
    analysed = {r[0]: r[1:] for r in warehouse.execute(
        "SELECT SRCRECID, AVAL, AVALC, BLQFL, ALQFL FROM intermediate.int_assessments "
        "WHERE SITEID = 'KZ90' AND PARAMCD = 'NTPROBNP'"
    ).fetchall()}
    assert analysed == {
        "LB01": (2480.0, None, None, None),
        "LB02": (1663.0, None, None, None),  # ng/L equals pg/mL
        "LB03": (pytest.approx(1168.7574), None, None, None),  # 138.2 pmol/L x 8.457
        "LB04": (25.0, "<50", "Y", None),  # <x analysed as x/2
        "LB05": (35000.0, ">35000", None, "Y"),  # >x analysed as x
    }
    assert _issues(warehouse, "KZ90", "lb") == sorted([
        ("LB06", "LBORRESU", "mg/dL", "unit-not-allowed", "ERROR"),
        ("LB07", "LBORRES", "150000", "implausible", "ERROR"),
        ("LB08", "LBORRES", "<8", "implausible", "ERROR"),  # analysed 4 < 5
        ("LB09", "LBORRES", "0.5", "implausible", "ERROR"),  # 0.5 x 8.457 = 4.23 < 5
    ])
    assert warehouse.execute("SELECT LBSTRESN, LBSTRESU FROM staging.stg_edc__lb WHERE RECID = 'LB10'").fetchone() == (76.0, "umol/L")


def test_functional_and_questionnaire_rules(warehouse):
    assert warehouse.execute(
        "SELECT RECID, NYHA, SMWD FROM staging.stg_edc__fs WHERE SITEID = 'KZ90' ORDER BY RECID"
    ).fetchall() == [("FS01", 3, 1000.0), ("FS02", None, None), ("FS03", 2, 0.0)]
    assert _issues(warehouse, "KZ90", "fs") == [
        ("FS02", "NYHA", "V", "code-list", "ERROR"),
        ("FS02", "SMWD", "1000.5", "implausible", "ERROR"),
    ]
    assert warehouse.execute(
        "SELECT RECID, ROW_EXCLUDED, QSSTRESN FROM staging.stg_edc__qs WHERE SITEID = 'KZ90' ORDER BY RECID"
    ).fetchall() == [
        ("QS01", False, 6.0), ("QS02", False, None), ("QS03", False, None), ("QS04", False, None),
        ("QS05", False, 45.5), ("QS06", True, 40.0),  # QS06 is excluded as a whole row
    ]
    assert _issues(warehouse, "KZ90", "qs") == [
        ("QS02", "QSORRES", "6", "out-of-range", "ERROR"),
        ("QS03", "QSORRES", "2.5", "out-of-range", "ERROR"),
        ("QS06", "QSTESTCD", "SF12XYZ", "code-list", "ERROR"),
    ]


def test_ae_onset_problems_are_warnings_and_keep_the_ae(warehouse):
    staged = dict(warehouse.execute(
        "SELECT RECID, AESTDTC FROM staging.stg_edc__ae WHERE SITEID = 'KZ90' AND NOT ROW_EXCLUDED"
    ).fetchall())
    assert staged == {"AE01": None, "AE02": "2021", "AE03": None, "AE04": None, "AE05": "2020", "AE06": None,
                      "AE07": "2020-03-20"}
    assert _issues(warehouse, "KZ90", "ae") == [
        ("AE01", "AESTDTC", "2020-13", "not-a-date", "WARNING"),
        ("AE03", "AESTDTC", "2021-02", "after-extract-date", "WARNING"),
        ("AE04", "AESTDTC", "2019", "before-consent", "WARNING"),
        ("AE06", "AESTDTC", None, "required", "WARNING"),
    ]


def test_subject_and_infusion_rules(warehouse):
    assert _issues(warehouse, "KZ90", "dm") == [
        ("DM003", "BRTHYR", "19x0", "not-a-year", "ERROR"),
        ("DM003", "SEX", "x", "code-list", "ERROR"),
    ]
    assert _issues(warehouse, "KZ90", "ex") == [("EX001", "EXSTDTC", "2020-03-20", "infusion-without-time", "WARNING")]
    assert warehouse.execute(
        "SELECT USUBJID, TRTSDTM, TRTSDT::varchar FROM intermediate.int_treatment_start WHERE SITEID = 'KZ90'"
    ).fetchall() == [("NCT04325594-KZ90-001", None, "2020-03-20")]
    statuses = warehouse.execute(
        "SELECT DISTINCT FIRST_EXTRACT, LAST_EXTRACT, STATUS FROM marts.data_issues WHERE SITEID IN ('KZ90', 'KZ91')"
    ).fetchall()
    assert statuses == [(EXTRACT, EXTRACT, "OPEN")]


def test_cp1251_decimal_commas_read_as_numbers(crafted):
    """Staging reads each site's latest transfer: the landing stops KZ01 at its cp1251 one."""
    manifest = cp1251_manifest()
    landing, warehouse = crafted.landing, crafted.warehouse

    text = (landing / manifest["site_id"] / manifest["extract_id"] / "ct.csv").read_bytes().decode("cp1251")
    delivered = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    with_comma = [(r["RECID"], column, r[column]) for r in delivered for column in ("LVEF", "IVS", "LVPW") if "," in r[column]]
    assert len(with_comma) > 20, "the cp1251 sample has decimal commas"
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        staged = {r[0]: r for r in con.execute("SELECT RECID, LVEF, IVS, LVPW FROM staging.stg_edc__ct WHERE SITEID = 'KZ01'").fetchall()}
        assert con.execute("SELECT DISTINCT EXTRACT_ID FROM staging.stg_edc__ct WHERE SITEID = 'KZ01'").fetchall() == [(manifest["extract_id"],)]
        assert staged["001-001"][1:] == (28.2, 9.2, 8.3)
        assert con.execute(
            "SELECT LBORRES, LBSTRESN, LBORRESU, LBORNRHI FROM staging.stg_edc__lb WHERE SITEID = 'KZ01' AND RECID = '021-014'"
        ).fetchall() == [("138,2", pytest.approx(138.2 * 8.457), "pmol/L", 14.8)]  # NT-proBNP analysed in pg/mL
        assert con.execute("SELECT DISTINCT EXDOSE FROM staging.stg_edc__ex WHERE SITEID = 'KZ01'").fetchall() == [(1.0e7,)]
    position = {"LVEF": 1, "IVS": 2, "LVPW": 3}
    for recid, column, value in with_comma:
        assert staged[recid][position[column]] == float(value.replace(",", ".")), (recid, column)


def test_rejected_transfer_fails_the_refresh_but_not_the_other_sites(crafted):
    result, bad, bad_before = crafted.result, crafted.rejected, crafted.rejected_before
    assert result.returncode == 1
    assert "REJECTED transfer KZ99/20210301T020000Z, file ct.csv: listed in the manifest but not delivered [rule listed-file-missing]" in result.stderr
    assert tree_digest(bad) == bad_before
    with duckdb.connect(str(build_database(crafted.warehouse)), read_only=True) as con:
        assert con.execute("SELECT SITEID, EXTRACT_ID, LVEF FROM staging.stg_edc__echo WHERE SITEID = 'KZ98'").fetchall() == [
            ("KZ98", "20210301T020000Z", 31.0)
        ]
    with duckdb.connect(str(crafted.warehouse), read_only=True) as con:
        assert con.execute(
            "SELECT SITEID, STATUS FROM marts.extract_log WHERE SITEID IN ('KZ98', 'KZ99') ORDER BY ALL"
        ).fetchall() == [("KZ98", "LOADED"), ("KZ99", "REJECTED")], "the good site is published despite the rejection"
