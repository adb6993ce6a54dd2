"""ADaM datasets (schema adam): values checked by hand on a small site through `regenheart refresh`,
traceability to SDTM checked record by record on the sample, and the ADaM gates shown failing.

Site KZ94, one transfer: subject 001 infused 2020-03-20T10:30, echo at baseline (EC001, 2020-03-18)
and at Month 1 (EC001M1, 2020-04-20), two AEs (AE001 on the infusion day, AE001B with a partial
onset, one delivered without a RECID); subject 002 screened, inclusion criterion IN05 not met, never infused. The site's echo.csv
records in --SEQ order (first delivery, then RECID): EC001 1, EC001M1 2; ae.csv: AE001 1, AE001B 2.
"""

import json
import shutil

import duckdb
import pytest

from conftest import build_database, query, run_dbt, site_slice
from transfer_factory import minimal_rows

SITE, T1 = "KZ94", "20210101T020000Z"
S001, S002 = f"NCT04325594-{SITE}-001", f"NCT04325594-{SITE}-002"
ARM = "Intracoronary umbilical cord MSC"


def _rows() -> dict:
    rows = minimal_rows("001")
    screened = minimal_rows("002")
    rows["dm"] += screened["dm"]
    rows["ie"] += [dict(screened["ie"][0], IETESTCD="IN05", IEORRES="N")]
    rows["echo"].append(dict(rows["echo"][0], RECID="EC001M1", VISIT="MONTH 1", ECHODTC="2020-04-20", LVEF="33",
                             LVEDV="220", LVESV="150", LVEDD="68", LVESD="58"))
    rows["ae"].append(dict(rows["ae"][0], RECID="AE001B", AESPID="2", AESTDTC="2020-04", AEENDTC="2020-04-20"))
    rows["ae"].append(dict(rows["ae"][0], RECID="", AESPID="3", AESTDTC="2020-05-02", AEENDTC=""))
    return rows


def scenario():
    """This site's transfer in the landing the scenario modules share (conftest `scenarios`)."""
    return SITE, (T1, _rows()), None


@pytest.fixture(scope="module")
def warehouse(scenarios, tmp_path_factory):
    """The published file after T1, as this site sees it."""
    return site_slice(scenarios.after_first, SITE, tmp_path_factory.mktemp("adam"))


def test_an_infused_subject_has_its_treatment_and_a_never_infused_one_flags_n_not_null(warehouse):
    assert query(warehouse, """
        SELECT USUBJID, ARM, ACTARM, TRT01P, TRT01A, TRTSDTM::varchar, TRTSDT::varchar, TRTEDT::varchar,
               SAFFL, EFFFL, COMPLFL, ELIGFL, DTHFL, RACE
        FROM adam.adsl ORDER BY USUBJID""") == [
        (S001, ARM, ARM, ARM, ARM, "2020-03-20 10:30:00", "2020-03-20", "2020-03-20", "Y", "Y", "Y", "N", None, None),
        (S002, None, None, None, None, None, None, None, "N", "N", "N", "N", None, None),
    ]
    # the marts keep contract v1.0: the same subjects, flags Y or NULL
    assert query(warehouse, "SELECT USUBJID, SAFFL, EFFFL, COMPLFL FROM marts.adsl ORDER BY USUBJID") == [
        (S001, "Y", "Y", "Y"), (S002, None, None, None)]


def test_an_echo_record_traces_to_its_cv_record(warehouse):
    # EC001M1 is the site's echo record 2: its tests are CVSEQ (2 - 1) x 10 + slot (LVEF 1 .. LVESD 5)
    assert query(warehouse, f"""
        SELECT PARAMCD, AVISIT, AVAL, BASE, CHG, TRTP, TRTA, SRCDOM, SRCVAR, SRCSEQ
        FROM adam.adeff WHERE USUBJID = '{S001}' AND PARAMCD IN ('LVEFECHO', 'LVESDECH', 'IVSCT')
        ORDER BY PARAMN, ADT""") == [
        ("LVEFECHO", "Baseline", 27.5, 27.5, None, ARM, ARM, "CV", "CVSTRESN", 1),
        ("LVEFECHO", "Month 1", 33.0, 27.5, 5.5, ARM, ARM, "CV", "CVSTRESN", 11),
        ("LVESDECH", "Baseline", 61.0, 61.0, None, ARM, ARM, "CV", "CVSTRESN", 5),
        ("LVESDECH", "Month 1", 58.0, 61.0, -3.0, ARM, ARM, "CV", "CVSTRESN", 15),
        # CT001 is the site's ct record 1: IVS is its fourth test, CT's slots follow echo's five
        ("IVSCT", "Baseline", 9.5, 9.5, None, ARM, ARM, "CV", "CVSTRESN", 9),
    ]
    assert query(warehouse, f"SELECT CVSEQ, CVTESTCD, CVMETHOD, CVDTC, CVSTRESN FROM sdtm.cv "
                            f"WHERE USUBJID = '{S001}' AND CVSEQ IN (11, 15, 9) ORDER BY CVSEQ") == [
        (9, "THCKEVD", "CT SCAN", "2020-03-18", 9.5),
        (11, "LVEF", "TRANSTHORACIC ECHOCARDIOGRAPHY", "2020-04-20", 33.0),
        (15, "MNIDEVS", "TRANSTHORACIC ECHOCARDIOGRAPHY", "2020-04-20", 58.0),
    ]


def test_an_adverse_event_traces_to_its_ae_record(warehouse):
    assert query(warehouse, """
        SELECT AESPID, ASTDT::varchar, ASTDTF, TRTA, AEOUT, SRCDOM, SRCVAR, SRCSEQ
        FROM adam.adae ORDER BY SRCSEQ""") == [
        ("1", "2020-03-20", None, ARM, "RECOVERED/RESOLVED", "AE", "AETERM", 1),
        ("2", "2020-04-01", "D", ARM, "RECOVERED/RESOLVED", "AE", "AETERM", 2),
        # no RECID (a data issue): no stable --SEQ, not tabulated in AE, still analysed
        ("3", "2020-05-02", None, ARM, "RECOVERED/RESOLVED", "AE", "AETERM", None),
    ]
    assert query(warehouse, f"SELECT AESEQ, AESPID, AESTDTC FROM sdtm.ae WHERE USUBJID = '{S001}' ORDER BY AESEQ") == [
        (1, "1", "2020-03-20T14:00"), (2, "2", "2020-04")]
    # the mart keeps the outcome as delivered
    assert query(warehouse, "SELECT DISTINCT AEOUT FROM marts.adae") == [("RECOVERED",)]


def test_adam_datasets_hold_the_marts_records(sample_warehouse):
    keys = {"adsl": "USUBJID", "adeff": "USUBJID, PARAMCD, ADT, PREINFFL, AVAL", "adae": "USUBJID, AESPID, AETERM, ASTDT"}
    for table, columns in keys.items():
        adam = query(sample_warehouse, f"SELECT {columns} FROM adam.{table} ORDER BY ALL")
        marts = query(sample_warehouse, f"SELECT {columns} FROM marts.{table} ORDER BY ALL")
        assert adam == marts and adam, table


def test_every_single_record_value_is_its_sdtm_records_value(sample_warehouse):
    """Each ADEFF record with a SRCSEQ names the SDTM record holding its value: the same subject,
    the parameter's test and method, the date, and AVAL (the NYHA class as its number)."""
    mismatches = query(sample_warehouse, """
        WITH tabulated AS (
            SELECT 'CV' AS DOM, USUBJID, CVSEQ AS SEQ, CVTESTCD AS TESTCD, CVMETHOD AS METHOD,
                   left(CVDTC, 10) AS DTC, CVSTRESN AS VALUE FROM sdtm.cv
            UNION ALL SELECT 'LB', USUBJID, LBSEQ, LBTESTCD, NULL, left(LBDTC, 10), LBSTRESN FROM sdtm.lb
            UNION ALL SELECT 'FT', USUBJID, FTSEQ, FTTESTCD, NULL, left(FTDTC, 10), FTSTRESN FROM sdtm.ft
            UNION ALL SELECT 'RS', USUBJID, RSSEQ, RSTESTCD, NULL, left(RSDTC, 10),
                   list_position(['I', 'II', 'III', 'IV'], replace(RSSTRESC, 'NYHA CLASS ', '')) FROM sdtm.rs
        )
        SELECT e.USUBJID, e.PARAMCD, e.SRCSEQ, t.TESTCD, t.METHOD, t.DTC, t.VALUE, e.AVAL
        FROM adam.adeff AS e
        LEFT JOIN tabulated AS t ON t.DOM = e.SRCDOM AND t.USUBJID = e.USUBJID AND t.SEQ = e.SRCSEQ
        WHERE e.SRCSEQ IS NOT NULL
          AND (t.SEQ IS NULL OR t.DTC <> e.ADT::varchar OR abs(t.VALUE - e.AVAL) > 1e-9
               OR (e.PARAMCD LIKE '%ECH%' AND t.METHOD <> 'TRANSTHORACIC ECHOCARDIOGRAPHY')
               OR (e.PARAMCD LIKE '%CT' AND t.METHOD <> 'CT SCAN')
               OR t.TESTCD <> CASE e.PARAMCD
                   WHEN 'NTPROBNP' THEN 'BNPPRONT' WHEN 'NYHA' THEN 'NYHACLS' WHEN 'SMWD' THEN 'SIXMW106'
                   WHEN 'LVEFECHO' THEN 'LVEF' WHEN 'LVEFCT' THEN 'LVEF'
                   WHEN 'LVEDVECH' THEN 'EDV' WHEN 'LVEDVCT' THEN 'EDV' WHEN 'LVESVECH' THEN 'ESV'
                   WHEN 'LVESVCT' THEN 'ESV' WHEN 'LVEDDECH' THEN 'MNIDEVD' WHEN 'LVESDECH' THEN 'MNIDEVS'
                   WHEN 'IVSCT' THEN 'THCKEVD' WHEN 'LVPWCT' THEN 'THCKEVD' END)""")
    assert mismatches == []
    traced = dict(query(sample_warehouse, "SELECT SRCDOM, count(SRCSEQ) FROM adam.adeff GROUP BY ALL"))
    assert traced["QS"] == 0 and all(traced[d] > 0 for d in ("CV", "LB", "FT", "RS"))
    assert query(sample_warehouse, """
        SELECT count(*) FROM adam.adae AS a
        LEFT JOIN sdtm.ae AS s ON s.USUBJID = a.USUBJID AND s.AESEQ = a.SRCSEQ
        WHERE s.AETERM IS DISTINCT FROM a.AETERM OR s.AESPID IS DISTINCT FROM a.AESPID""") == [(0,)]


def test_the_adam_gates_fail_on_what_adamig_forbids(sample_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(build_database(sample_warehouse), build_database(copy))
    with duckdb.connect(str(build_database(copy))) as con:
        subject = con.execute("SELECT min(USUBJID) FROM adam.adsl WHERE SAFFL = 'Y'").fetchone()[0]
        con.execute(f"UPDATE adam.adsl SET EFFFL = NULL WHERE USUBJID = '{subject}'")
        con.execute(f"INSERT INTO adam.adsl SELECT * FROM adam.adsl WHERE USUBJID = '{subject}'")
        con.execute("ALTER TABLE adam.adsl ALTER AGE TYPE VARCHAR")
        con.execute(f"""UPDATE adam.adeff SET CHG = CHG + 1 WHERE rowid = (
            SELECT min(rowid) FROM adam.adeff WHERE CHG IS NOT NULL)""")
        con.execute(f"""UPDATE adam.adeff SET ABLFL = 'Y' WHERE rowid = (
            SELECT min(rowid) FROM adam.adeff WHERE ABLFL IS NULL AND PARAMCD = 'LVEFECHO' AND USUBJID = '{subject}')""")
        con.execute("UPDATE adam.adeff SET SRCSEQ = 99999 WHERE rowid = (SELECT min(rowid) FROM adam.adeff WHERE SRCDOM = 'LB')")
        con.execute("UPDATE adam.adae SET USUBJID = 'NCT04325594-KZ01-999' WHERE rowid = (SELECT min(rowid) FROM adam.adae)")
    tested = run_dbt(copy, "test", "--select", "path:models/adam")
    assert tested.returncode == 1
    results = json.loads((copy.parent / "dbt-target" / "run_results.json").read_text())
    failed = sorted(r["unique_id"].split(".")[2] for r in results["results"] if r["status"] in ("fail", "error"))
    # the test names dbt gives them, up to their arguments
    expected = {
        "not_null_adam_adsl_EFFFL", "unique_adam_adsl_USUBJID", "has_adamig_variables_adam_adsl_ADSL",
        "expression_is_true_adam_adeff_case_when_PREINFFL_is_null_and_BASE_is_not_null_then_abs_CHG_AVAL_BASE",
        "unique_combination_adam_adeff_USUBJID__PARAMCD__ABLFL_Y", "source_record_exists_adam_adeff",
        "relationships_adam_adae_USUBJID__USUBJID__ref_adam_adsl", "contains_rows_of_adam_adae",
        "source_record_exists_adam_adae",
    }
    assert sorted(next((e for e in expected if name.startswith(e)), name) for name in failed) == sorted(expected)
