"""SDTM findings (SV, LB, CV, FT, RS, QS), values checked by hand on a small site through `regenheart refresh`.

Site KZ97, subject 001 (minimal_rows: infused 2020-03-20T10:30), transfer T1:
- sv: BASELINE 2020-03-18, MONTH 1 2020-04-20, UNSCHEDULED 2020-05-05;
- echo: EC001 BASELINE (LVEF 27.5 ...), EC001B MONTH 1 with an implausible LVEF 95 and an LVEDV n.d.;
  ct: CT001 BASELINE (IVS 9.5, LVPW 9.1);
- lb: LB001 NT-proBNP 2480 pg/mL at BASELINE, LB001B 100 pmol/L at MONTH 1, LB001C <50 pg/mL at the
  UNSCHEDULED visit, LB099 of subject 099, who is not in dm.csv;
- fs: FS001 BASELINE NYHA III 280 m, FS001B MONTH 1 NYHA delivered as 2, 310 m;
- qs: QS001 MLHFQ01 3, QS001B KCCQ01 not answered (not tabulated), QS001C SF12PCS 41.5.
Transfer T2 corrects EC001B's LVEF (95 -> 35) and LB001B (100 -> 120 pmol/L), and adds EC000 (its
RECID sorts first) at MONTH 3.
"""

import pytest

from conftest import query, site_slice
from transfer_factory import minimal_rows

SITE, T1, T2 = "KZ97", "20210101T020000Z", "20210201T020000Z"
S001 = "NCT04325594-KZ97-001"


def _rows(corrected: bool) -> dict:
    rows = minimal_rows("001")
    sv, echo, lb, fs, qs = rows["sv"][0], rows["echo"][0], rows["lb"][0], rows["fs"][0], rows["qs"][0]
    rows["sv"] += [dict(sv, RECID="SV001B", VISIT="MONTH 1", SVSTDTC="2020-04-20"),
                   dict(sv, RECID="SV001U", VISIT="UNSCHEDULED", SVSTDTC="2020-05-05")]
    month_1_echo = {key: "" for key in ("LVEDV", "LVESV", "LVEDD", "LVESD")}
    rows["echo"].append(dict(echo, RECID="EC001B", VISIT="MONTH 1", ECHODTC="2020-04-20",
                             LVEF="35" if corrected else "95", **dict(month_1_echo, LVEDV="n.d.")))
    rows["lb"] += [
        dict(lb, RECID="LB001B", VISIT="MONTH 1", LBDTC="2020-04-20T08:00", LBORRES="120" if corrected else "100",
             LBORRESU="pmol/L", LBORNRLO="0", LBORNRHI="14.8"),
        dict(lb, RECID="LB001C", VISIT="UNSCHEDULED", LBDTC="2020-05-05T09:00", LBORRES="<50"),
        dict(lb, RECID="LB099", SUBJID="099"),
    ]
    rows["fs"].append(dict(fs, RECID="FS001B", VISIT="MONTH 1", FSDTC="2020-04-20", NYHA="2", SMWD="310"))
    rows["qs"] += [dict(qs, RECID="QS001B", QSCAT="KCCQ12", QSTESTCD="KCCQ01", QSORRES=""),
                   dict(qs, RECID="QS001C", QSCAT="SF12", QSTESTCD="SF12PCS", QSORRES="41.5")]
    if corrected:
        rows["echo"].append(dict(echo, RECID="EC000", VISIT="MONTH 3", ECHODTC="2020-06-18", LVEF="33", **month_1_echo))
    return rows


def scenario():
    """This site's transfers in the landing the scenario modules share (conftest `scenarios`)."""
    return SITE, (T1, _rows(corrected=False)), (T2, _rows(corrected=True))


@pytest.fixture(scope="module")
def published(scenarios, tmp_path_factory):
    """The published file after T1 (a copy) and after T2, as this site sees it."""
    folder = tmp_path_factory.mktemp("sdtm_findings")
    return site_slice(scenarios.after_first, SITE, folder), site_slice(scenarios.after_second, SITE, folder)


def test_visits_are_the_nominal_ones_the_site_recorded(published):
    first, _ = published
    assert query(first, "SELECT USUBJID, VISITNUM, VISIT, EPOCH, SVSTDTC, SVENDTC, SVSTDY, SVENDY FROM sdtm.sv ORDER BY VISITNUM") == [
        # 2020-03-18 - 2020-03-20 = -2 (no day 0)
        (S001, 2.0, "BASELINE", "SCREENING", "2020-03-18", "2020-03-18", -2, -2),
        # 2020-04-20 - 2020-03-20 + 1 = 31 + 1 = 32
        (S001, 8.0, "MONTH 1", "FOLLOW-UP", "2020-04-20", "2020-04-20", 32, 32),
        # the first unscheduled visit after MONTH 1 (8): 8.01; 2020-05-05 is day 31 + 15 + 1 = 47
        (S001, 8.01, "UNSCHEDULED", "FOLLOW-UP", "2020-05-05", "2020-05-05", 47, 47),
    ]


def test_an_implausible_lvef_is_tabulated_as_collected(published):
    first, _ = published
    # echo.csv records first delivered in T1, by RECID: EC001 (1), EC001B (2); LVEF is echo's slot 1:
    # EC001B's LVEF is (2 - 1) x 10 + 1 = 11
    assert query(first, """
        SELECT CVSEQ, CVTESTCD, CVTEST, CVORRES, CVORRESU, CVSTRESC, CVSTRESN, CVSTRESU, CVLOC, CVDIR, CVMETHOD,
               VISITNUM, VISIT, CVDTC, CVDY, EPOCH
        FROM sdtm.cv WHERE CVSEQ = 11""") == [
        (11, "LVEF", "Left Ventricular Ejection Fraction", "95", "%", "95", 95.0, "%", None, None,
         "TRANSTHORACIC ECHOCARDIOGRAPHY", 8.0, "MONTH 1", "2020-04-20", 32, "FOLLOW-UP")]
    # EC001B's LVEDV (slot 2) is no number: as delivered, no CVSTRESN; its empty measurements were
    # not taken and have no row
    assert query(first, "SELECT CVSEQ, CVTESTCD, CVORRES, CVSTRESC, CVSTRESN FROM sdtm.cv WHERE CVSEQ BETWEEN 12 AND 20") == [
        (12, "EDV", "n.d.", "n.d.", None)]


def test_ct_thicknesses_are_told_apart_by_location(published):
    first, _ = published
    # ct.csv record CT001 (1): IVS slot 9, LVPW slot 10
    assert query(first, """
        SELECT CVSEQ, CVTESTCD, CVORRES, CVSTRESN, CVORRESU, CVLOC, CVDIR, CVMETHOD, CVLOBXFL
        FROM sdtm.cv WHERE CVMETHOD = 'CT SCAN' AND CVTESTCD = 'THCKEVD' ORDER BY CVSEQ""") == [
        (9, "THCKEVD", "9.5", 9.5, "mm", "INTERVENTRICULAR SEPTUM", None, "CT SCAN", "Y"),
        (10, "THCKEVD", "9.1", 9.1, "mm", "HEART, LEFT VENTRICULAR WALL", "POSTERIOR", "CT SCAN", "Y"),
    ]


def test_nt_probnp_in_pmol_per_litre_and_below_the_limit(published):
    first, _ = published
    # lb.csv records of the site first delivered in T1, by RECID: LB001 (1), LB001B (2), LB001C (3),
    # LB099 (4, subject not in DM: not tabulated)
    assert query(first, """
        SELECT USUBJID, LBSEQ, LBTESTCD, LBTEST, LBORRES, LBORRESU, LBORNRHI, LBSTRESC, LBSTRESN, LBSTRESU, LBSTNRHI,
               LBLOBXFL, VISITNUM, VISIT, LBDTC, LBDY
        FROM sdtm.lb ORDER BY LBSEQ""") == [
        # pg/mL is submitted as ng/L (the same number); before the infusion: the last one before exposure
        (S001, 1, "BNPPRONT", "N-Terminal ProB-type Natriuretic Peptide", "2480", "ng/L", "125", "2480", 2480.0, "ng/L",
         125.0, "Y", 2.0, "BASELINE", "2020-03-18T08:00", -2),
        # 100 pmol/L x 8.457 = 845.7 ng/L; range 14.8 x 8.457 = 125.1636
        (S001, 2, "BNPPRONT", "N-Terminal ProB-type Natriuretic Peptide", "100", "pmol/L", "14.8", "845.7", 845.7, "ng/L",
         125.1636, None, 8.0, "MONTH 1", "2020-04-20T08:00", 32),
        # below the limit: kept as text in the standard unit, no number, no range (ranges are for
        # continuous results); the unscheduled visit of that day
        (S001, 3, "BNPPRONT", "N-Terminal ProB-type Natriuretic Peptide", "<50", "ng/L", None, "<50", None, "ng/L",
         None, None, 8.01, "UNSCHEDULED", "2020-05-05T09:00", 47),
    ]


def test_nyha_class_and_six_minute_walk(published):
    first, _ = published
    # fs.csv records by RECID: FS001 (1), FS001B (2)
    assert query(first, "SELECT RSSEQ, RSTESTCD, RSTEST, RSCAT, RSORRES, RSSTRESC, RSLOBXFL, VISIT, RSDTC, RSDY FROM sdtm.rs ORDER BY RSSEQ") == [
        (1, "NYHACLS", "New York Heart Association Class", "NYHA", "III", "NYHA CLASS III", "Y", "BASELINE", "2020-03-18", -2),
        (2, "NYHACLS", "New York Heart Association Class", "NYHA", "2", "NYHA CLASS II", None, "MONTH 1", "2020-04-20", 32),
    ]
    assert query(first, "SELECT FTSEQ, FTTESTCD, FTTEST, FTCAT, FTORRES, FTORRESU, FTSTRESC, FTSTRESN, FTSTRESU, VISIT FROM sdtm.ft ORDER BY FTSEQ") == [
        (1, "SIXMW106", "SIXMW1-Distance at 6 Minutes", "SIX MINUTE WALK", "280", "m", "280", 280.0, "m", "BASELINE"),
        (2, "SIXMW106", "SIXMW1-Distance at 6 Minutes", "SIX MINUTE WALK", "310", "m", "310", 310.0, "m", "MONTH 1"),
    ]


def test_questionnaire_items(published):
    first, _ = published
    # qs.csv records by RECID: QS001 (1), QS001B (2: not answered, no row), QS001C (3)
    assert query(first, "SELECT QSSEQ, QSTESTCD, QSTEST, QSCAT, QSORRES, QSSTRESC, QSSTRESN, QSLOBXFL, VISITNUM, VISIT, QSDY FROM sdtm.qs ORDER BY QSSEQ") == [
        (1, "MLHFQ01", "MLHFQ-Swelling in Ankles or Legs", "MLHFQ", "3", "3", 3.0, "Y", 2.0, "BASELINE", -2),
        (3, "SF12324", "SF123-Physical Component Score", "SF12 V2.0 STANDARD", "41.5", "41.5", 41.5, "Y", 2.0, "BASELINE", -2),
    ]


def test_a_correction_keeps_its_seq_and_a_new_record_comes_after(published):
    _, warehouse = published
    # EC001B keeps CVSEQ 11 with its corrected LVEF; EC000, first delivered in T2, is echo record 3:
    # its LVEF is (3 - 1) x 10 + 1 = 21
    assert query(warehouse, "SELECT CVSEQ, CVORRES, CVSTRESN, VISIT, CVDY FROM sdtm.cv WHERE CVTESTCD = 'LVEF' AND CVMETHOD <> 'CT SCAN' ORDER BY CVSEQ") == [
        (1, "27.5", 27.5, "BASELINE", -2),
        (11, "35", 35.0, "MONTH 1", 32),
        # 2020-06-18 - 2020-03-20 + 1 = 31 + 30 + 29 + 1 = 91
        (21, "33", 33.0, "MONTH 3", 91),
    ]
    # LB001B keeps LBSEQ 2: 120 pmol/L x 8.457 = 1014.84 ng/L
    assert query(warehouse, "SELECT LBSEQ, LBORRES, LBSTRESC, LBSTRESN FROM sdtm.lb WHERE LBSEQ = 2") == [(2, "120", "1014.84", 1014.84)]
