"""SDTM trial design (TS, TA, TE, TV, TI) and subject elements (SE), values checked by hand through
`regenheart refresh`.

Site KZ97, transfer T1 (conftest's submission warehouse): subject 001 consented 2020-03-02,
infused 2020-03-20T10:30, last date the COMPLETED disposition 2020-09-20; subject 002 consented
2020-03-01, inclusion IN05 not met (a screen failure), never infused, screened 2020-03-10,
disposition PHYSICIAN DECISION 2020-03-12.
Then site KZ96 sends its first transfer (an incremental refresh: only KZ96 is rebuilt): subject
001 infused 2020-03-20T10:30, visits up to MONTH 1 on 2020-04-19, no disposition yet.
"""

import pytest

from conftest import copy_of_submission_state, query, run_refresh
from transfer_factory import minimal_rows, write_transfer

SITE, NEW_SITE, T1, T2 = "KZ97", "KZ96", "20210101T020000Z", "20210301T020000Z"
S001, S002, N001 = "NCT04325594-KZ97-001", "NCT04325594-KZ97-002", "NCT04325594-KZ96-001"


def _new_site_rows() -> dict:
    rows = minimal_rows("001")
    visit = rows["sv"][0]
    rows["sv"] += [dict(visit, RECID="SV001B", VISIT="DAY 1", SVSTDTC="2020-03-20"),
                   dict(visit, RECID="SV001C", VISIT="MONTH 1", SVSTDTC="2020-04-19")]
    rows["ds"] = []
    return rows


@pytest.fixture(scope="module")
def published(submission_warehouse, tmp_path_factory):
    """The published file after KZ97's T1 (conftest's submission_warehouse, shared), and after
    KZ96's T2 (incremental, on a copy of it)."""
    landing, warehouse = copy_of_submission_state(submission_warehouse, tmp_path_factory.mktemp("sdtm_design"))
    write_transfer(landing, NEW_SITE, T2, _new_site_rows())
    second_run = run_refresh(landing, warehouse)
    assert second_run.returncode == 0, second_run.stderr
    assert f"(the rows of sites {NEW_SITE} copied again)" in second_run.stderr
    return submission_warehouse, warehouse


SE = "SELECT USUBJID, SESEQ, ETCD, ELEMENT, TAETORD, EPOCH, SESTDTC, SEENDTC, SESTDY, SEENDY FROM sdtm.se ORDER BY USUBJID, SESEQ"


def test_subject_elements_of_an_infused_and_a_never_infused_subject(published):
    first, _ = published
    assert query(first, SE) == [
        # consent to the infusion; 2020-03-02 - 2020-03-20 = day -18
        (S001, 1, "SCRN", "Screening", 1, "SCREENING", "2020-03-02", "2020-03-20T10:30", -18, 1),
        # the infusion to the start of study day 6 (2020-03-20 + 5 days)
        (S001, 2, "UCMSC", "Intracoronary UC-MSC infusion", 2, "TREATMENT", "2020-03-20T10:30", "2020-03-25", 1, 6),
        # day 6 to the disposition 2020-09-20: 2020-09-20 - 2020-03-20 + 1 = 185
        (S001, 3, "FU", "Follow-up", 3, "FOLLOW-UP", "2020-03-25", "2020-09-20", 6, 185),
        # never infused: screening only, consent to the last date (the disposition), no study days
        (S002, 1, "SCRN", "Screening", 1, "SCREENING", "2020-03-01", "2020-03-12", None, None),
    ]


def test_an_incremental_refresh_adds_the_new_sites_elements_and_keeps_the_others(published):
    first, warehouse = published
    assert query(warehouse, SE) == [
        # last date the MONTH 1 visit 2020-04-19: day 31
        (N001, 1, "SCRN", "Screening", 1, "SCREENING", "2020-03-02", "2020-03-20T10:30", -18, 1),
        (N001, 2, "UCMSC", "Intracoronary UC-MSC infusion", 2, "TREATMENT", "2020-03-20T10:30", "2020-03-25", 1, 6),
        (N001, 3, "FU", "Follow-up", 3, "FOLLOW-UP", "2020-03-25", "2020-04-19", 6, 31),
    ] + query(first, SE)


TS = """SELECT TSPARMCD, TSSEQ, TSVAL, TSVALNF, TSVALCD, TSVCDREF, TSVCDVER FROM sdtm.ts
        WHERE TSPARMCD IN ('REGID', 'SDTIGVER', 'SDTMVER', 'ACTSUB', 'PLANSUB', 'SSTDTC', 'SENDTC', 'DCUTDTC',
                           'TPHASE', 'AGEMAX', 'TTYPE', 'NARMS')
        ORDER BY TSPARMCD, TSSEQ"""


def test_trial_summary_values_from_the_protocol_and_the_data(published):
    first, warehouse = published
    common = {
        "AGEMAX": ("AGEMAX", 1, None, "PINF", None, None, None),
        "NARMS": ("NARMS", 1, "1", None, None, None, None),
        "PLANSUB": ("PLANSUB", 1, "30", None, None, None, None),
        "REGID": ("REGID", 1, "NCT04325594", None, "NCT04325594", "ClinicalTrials.gov", None),
        "SDTIGVER": ("SDTIGVER", 1, "3.4", None, None, None, None),
        "SDTMVER": ("SDTMVER", 1, "2.0", None, None, None, None),
        # the earliest consent: subject 002's
        "SSTDTC": ("SSTDTC", 1, "2020-03-01", None, None, "ISO 8601", None),
        "TPHASE": ("TPHASE", 1, "PHASE I/II TRIAL", None, "C15693", "CDISC CT", "2025-03-28"),
    }
    ttype = [("TTYPE", 1, "SAFETY", None, "C49667", "CDISC CT", "2025-03-28"),
             ("TTYPE", 2, "EFFICACY", None, "C49666", "CDISC CT", "2025-03-28")]
    after_t1 = {
        **common,
        # enrolled: 001; 002 is a screen failure
        "ACTSUB": ("ACTSUB", 1, "1", None, None, None, None),
        "DCUTDTC": ("DCUTDTC", 1, "2021-01-01", None, None, "ISO 8601", None),
        # every subject has a disposition event: the latest last date, 001's 2020-09-20
        "SENDTC": ("SENDTC", 1, "2020-09-20", None, None, "ISO 8601", None),
    }
    after_t2 = {
        **common,
        "ACTSUB": ("ACTSUB", 1, "2", None, None, None, None),
        "DCUTDTC": ("DCUTDTC", 1, "2021-03-01", None, None, "ISO 8601", None),
        # KZ96's subject has no disposition: the study has not ended in the data
        "SENDTC": ("SENDTC", 1, None, "NAV", None, None, None),
    }
    for path, expected in ((first, after_t1), (warehouse, after_t2)):
        assert query(path, TS) == sorted([*expected.values(), *ttype])


def test_trial_arms_elements_and_visits(published):
    _, warehouse = published
    assert query(warehouse, "SELECT ARMCD, ARM, TAETORD, ETCD, ELEMENT, EPOCH FROM sdtm.ta ORDER BY TAETORD") == [
        ("UCMSC", "Intracoronary umbilical cord MSC", 1, "SCRN", "Screening", "SCREENING"),
        ("UCMSC", "Intracoronary umbilical cord MSC", 2, "UCMSC", "Intracoronary UC-MSC infusion", "TREATMENT"),
        ("UCMSC", "Intracoronary umbilical cord MSC", 3, "FU", "Follow-up", "FOLLOW-UP"),
    ]
    # DM's arm is TA's
    assert query(warehouse, "SELECT DISTINCT ARMCD, ARM FROM sdtm.dm WHERE ARMCD IS NOT NULL") == [
        ("UCMSC", "Intracoronary umbilical cord MSC")]
    assert query(warehouse, "SELECT ETCD FROM sdtm.te ORDER BY ETCD") == [("FU",), ("SCRN",), ("UCMSC",)]
    assert query(warehouse, "SELECT VISITNUM, VISIT, VISITDY, TVSTRL, TVENRL FROM sdtm.tv ORDER BY VISITNUM") == [
        (1, "SCREENING", None, "After informed consent", "Before the baseline visit"),
        # the baseline window of visit_windows: days -60 to 1
        (2, "BASELINE", None, "Study day -60 at the earliest", "Study day 1, before the infusion"),
        (3, "DAY 1", 1, "Study day 1 (study day 1 is the infusion day)", None),
        (4, "DAY 2", 2, "Study day 2 (study day 1 is the infusion day)", None),
        (5, "DAY 3", 3, "Study day 3 (study day 1 is the infusion day)", None),
        (6, "DAY 4", 4, "Study day 4 (study day 1 is the infusion day)", None),
        (7, "DAY 5", 5, "Study day 5 (study day 1 is the infusion day)", None),
        # the target days of visit_windows
        (8, "MONTH 1", 30, "Study day 30 (study day 1 is the infusion day)", None),
        (9, "MONTH 3", 90, "Study day 90 (study day 1 is the infusion day)", None),
        (10, "MONTH 6", 180, "Study day 180 (study day 1 is the infusion day)", None),
    ]


def test_trial_criteria_are_the_transfer_specs_and_agree_with_ie(published):
    _, warehouse = published
    criteria = query(warehouse, "SELECT IETESTCD, IECAT FROM sdtm.ti ORDER BY IETESTCD")
    assert criteria == [(f"EX{n:02d}", "EXCLUSION") for n in range(1, 16)] + [(f"IN{n:02d}", "INCLUSION") for n in range(1, 10)]
    assert query(warehouse, "SELECT IETEST FROM sdtm.ti WHERE IETESTCD IN ('IN01', 'EX13') ORDER BY IETESTCD") == [
        ("Porphyria",), ("Age 18 years or older",)]
    # subject 002's unmet IN05 in IE is TI's IN05
    assert query(warehouse, """
        SELECT ie.IETESTCD, ie.IETEST = ti.IETEST, ie.IECAT = ti.IECAT
        FROM sdtm.ie AS ie JOIN sdtm.ti AS ti USING (IETESTCD)""") == [("IN05", True, True)]
