"""SDTM tabulations (schema sdtm), values checked by hand on a small site through `regenheart refresh`.

Site KZ98, transfer T1: subject 001 infused 2020-03-20T10:30 with an AE on the infusion day and one
with a partial onset (2020-04); subject 002 screened, inclusion criterion IN05 not met, never
infused; an AE of subject 099, who is not in dm.csv. Transfer T2 corrects 001's first AE (AESEV)
and adds a record AE000, whose RECID sorts first.
"""

import pytest

from conftest import query, site_slice
from transfer_factory import minimal_rows

SITE, T1, T2 = "KZ98", "20210101T020000Z", "20210201T020000Z"
S001, S002 = "NCT04325594-KZ98-001", "NCT04325594-KZ98-002"


def _rows(corrected: bool) -> dict:
    rows = minimal_rows("001")
    screened = minimal_rows("002")
    rows["dm"] += screened["dm"]
    rows["ie"] += [dict(screened["ie"][0], IETESTCD="IN05", IEORRES="N")]
    first_ae = rows["ae"][0]
    rows["ae"] += [
        dict(first_ae, RECID="AE001B", AESPID="2", AESTDTC="2020-04", AEENDTC="2020-04-20"),
        dict(first_ae, RECID="AE099", SUBJID="099"),
    ]
    if corrected:
        rows["ae"][0] = dict(first_ae, AESEV="MODERATE")
        rows["ae"].append(dict(first_ae, RECID="AE000", AESPID="3", AESTDTC="2020-05-02", AEENDTC=""))
    return rows


def scenario():
    """This site's transfers in the landing the scenario modules share (conftest `scenarios`)."""
    return SITE, (T1, _rows(corrected=False)), (T2, _rows(corrected=True))


@pytest.fixture(scope="module")
def published(scenarios, tmp_path_factory):
    """The published file after T1 (a copy) and after T2, as this site sees it."""
    folder = tmp_path_factory.mktemp("sdtm")
    return site_slice(scenarios.after_first, SITE, folder), site_slice(scenarios.after_second, SITE, folder)


def test_a_screened_never_infused_subject_has_no_arm_and_says_why(published):
    _, warehouse = published
    assert query(warehouse, """
        SELECT USUBJID, RFSTDTC, RFXSTDTC, RFICDTC, ARMCD, ARM, ACTARMCD, ARMNRS, BRTHDTC, AGE, COUNTRY
        FROM sdtm.dm ORDER BY USUBJID""") == [
        (S001, "2020-03-20T10:30", "2020-03-20T10:30", "2020-03-02", "UCMSC", "Intracoronary umbilical cord MSC",
         "UCMSC", None, "1970", 50, "KAZ"),
        (S002, None, None, "2020-03-02", None, None, None, "SCREEN FAILURE", "1970", 50, "KAZ"),
    ]
    assert query(warehouse, f"SELECT USUBJID, QNAM, QVAL FROM sdtm.suppdm WHERE USUBJID = '{S002}' ORDER BY QNAM") == [
        (S002, "ETIOLCNF", "ANGIO"), (S002, "ICDIMP", "N"), (S002, "ICDIND", "Y")]


def test_inclusion_not_met_is_tabulated_and_met_criteria_are_not(published):
    _, warehouse = published
    # ie.csv records of the site, first delivered in T1, by RECID: IE001 (1), IE002 (2)
    assert query(warehouse, "SELECT USUBJID, IESEQ, IETESTCD, IETEST, IECAT, IEORRES, EPOCH FROM sdtm.ie") == [
        (S002, 2, "IN05", "LVEF <= 35% by echocardiography or CT", "INCLUSION", "N", "SCREENING")]


def test_partial_onset_stays_partial_without_a_study_day_and_unknown_subjects_are_not_tabulated(published):
    first, _ = published
    # AE records of the site first delivered in T1, by RECID: AE001 (1), AE001B (2), AE099 (3)
    assert query(first, "SELECT USUBJID, AESEQ, AESTDTC, AESTDY, AEENDTC, AEENDY, AESEV, AEOUT, EPOCH FROM sdtm.ae ORDER BY AESEQ") == [
        # onset on the infusion date: day 1; end the next day: day 2
        (S001, 1, "2020-03-20T14:00", 1, "2020-03-21", 2, "MILD", "RECOVERED/RESOLVED", "TREATMENT"),
        # partial onset: no study day; its epoch from 2020-04-01 (the period's first day: it does not hold
        # the infusion date), 12 days after the infusion: FOLLOW-UP; its full end date: 2020-04-20 - 2020-03-20 + 1 = 32
        (S001, 2, "2020-04", None, "2020-04-20", 32, "MILD", "RECOVERED/RESOLVED", "FOLLOW-UP"),
    ]


def test_a_correction_keeps_its_seq_and_a_new_record_comes_after(published):
    _, warehouse = published
    assert query(warehouse, "SELECT AESEQ, AESPID, AESEV, AESTDTC, AESTDY, EPOCH FROM sdtm.ae ORDER BY AESEQ") == [
        (1, "1", "MODERATE", "2020-03-20T14:00", 1, "TREATMENT"),  # corrected: same AESEQ
        (2, "2", "MILD", "2020-04", None, "FOLLOW-UP"),
        # AE000 sorts first by RECID but was first delivered in T2: after AE099's 3; 2020-05-02 is day 44
        (4, "3", "MILD", "2020-05-02", 44, "FOLLOW-UP"),
    ]


def test_disposition_has_the_consent_milestone_and_the_collected_events(published):
    _, warehouse = published
    assert query(warehouse, "SELECT USUBJID, DSSEQ, DSTERM, DSDECOD, DSCAT, DSSTDTC, DSSTDY, EPOCH FROM sdtm.ds ORDER BY USUBJID, DSSEQ") == [
        (S001, 1, "INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2020-03-02", -18, "SCREENING"),
        # 2020-09-20 - 2020-03-20 + 1 = 185
        (S001, 2, "COMPLETED", "COMPLETED", "DISPOSITION EVENT", "2020-09-20", 185, "FOLLOW-UP"),
        (S002, 1, "INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2020-03-02", None, "SCREENING"),
    ]
    assert query(warehouse, "SELECT USUBJID, EXSEQ, EXDOSE, EXDOSU, EXROUTE, EXLOC, EXSTDTC, EXSTDY, EPOCH FROM sdtm.ex") == [
        (S001, 1, 1.0e7, "Therapeutic Cells", "INTRACORONARY", "CORONARY ARTERY, LEFT", "2020-03-20T10:30", 1, "TREATMENT")]
