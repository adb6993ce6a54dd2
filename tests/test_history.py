"""The audit trail across one site's cumulative transfers: record history, the data-issue
lifecycle, what changed between the last two transfers, and the extract log.

Site KZ70 sends three transfers, written here and refreshed in the landing it shares with
test_data_rules' sites (conftest `audit_landing`). T1 arrives alone (first refresh); T2 and T3
arrive together, with a broken T4 (second refresh). Subject 001's records, by transfer:

| record | T1 | T2 (`;`, `,` decimals) | T3 |
|---|---|---|---|
| echo ECA (baseline) | LVEF 27.5 | LVEF `27,5` (the same value) | LVEF 27.5 |
| echo ECB (month 1) | LVEF 40 | LVEF `41,0` | LVEF 42 |
| echo ECD (month 3) | LVEF 35 | LVEF `35` | deleted |
| echo ECE (month 6) | LVEF 270 (implausible) | 270 | 270 |
| fs FSX (month 1) | SMWD 2800 (implausible) | 2800 | 280 (corrected) |
| echo ECN (month 6, unscheduled) | - | - | LVEF 33 (added) |
"""

import shutil

import duckdb
import pytest

from conftest import build_database
from orchestration import dts
from orchestration.history import historise_new_transfers, rebuild_history
from orchestration.ingestion import ingest_new_transfers
from transfer_factory import minimal_rows, write_transfer

SITE = "KZ70"
T1, T2, T3, T4 = "20210101T020000Z", "20210401T020000Z", "20210701T020000Z", "20211001T020000Z"
USUBJID = f"NCT04325594-{SITE}-001"


def _echo(recid, visit, date, lvef):
    return {"RECID": recid, "SUBJID": "001", "VISIT": visit, "ECHODTC": date, "LVEF": lvef,
            "LVEDV": "231.4", "LVESV": "167.8", "LVEDD": "70", "LVESD": "61"}


def _fs(recid, smwd):
    return {"RECID": recid, "SUBJID": "001", "VISIT": "MONTH 1", "FSDTC": "2020-04-20", "NYHA": "III", "SMWD": smwd}


def _rows(extract: str) -> dict:
    rows = minimal_rows("001")
    lvef = {T1: {"ECA": "27.5", "ECB": "40", "ECD": "35"}, T2: {"ECA": "27.5", "ECB": "41.0", "ECD": "35"}}
    lvef = lvef.get(extract, {"ECA": "27.5", "ECB": "42"})
    rows["echo"] = [
        _echo("ECA", "BASELINE", "2020-03-18", lvef["ECA"]),
        _echo("ECB", "MONTH 1", "2020-04-20", lvef["ECB"]),
        *([_echo("ECD", "MONTH 3", "2020-06-19", lvef["ECD"])] if "ECD" in lvef else []),
        _echo("ECE", "MONTH 6", "2020-09-18", "270"),
        *([_echo("ECN", "UNSCHEDULED", "2020-09-25", "33")] if extract >= T3 else []),
    ]
    rows["fs"] = [_fs("FSX", "280" if extract >= T3 else "2800")]
    if extract == T2:  # every number written with a decimal comma
        for domain, columns in dts.NUMERIC_COLUMNS.items():
            for row in rows[domain]:
                row.update({c: row[c].replace(".", ",") for c in columns})
    return rows


def _write(landing, extract):
    comma = extract == T2
    return write_transfer(
        landing, SITE, extract, _rows(extract),
        delimiter=";" if comma else ",", decimal_separator="," if comma else ".",
    )


def first_transfers(landing) -> None:
    """What the shared landing's first refresh builds (conftest `audit_landing`): T1 alone."""
    _write(landing, T1)


def second_transfers(landing) -> None:
    """What its second refresh adds: T2 and T3 together, with a broken T4."""
    _write(landing, T2)
    _write(landing, T3)
    broken = _write(landing, T4)
    (broken / "echo.csv").write_bytes((broken / "echo.csv").read_bytes() + b"tampered\n")


@pytest.fixture(scope="module")
def audit(audit_landing):
    """KZ70's published file after both refreshes (the second exits 1: T4 rejected, the rest built
    and published), and its open data issues after the first. The landing holds test_data_rules'
    sites too: every query here reads KZ70's rows."""
    assert audit_landing.first.returncode == 0, audit_landing.first.stderr
    assert audit_landing.second.returncode == 1, audit_landing.second.stderr
    with duckdb.connect(str(audit_landing.after_first), read_only=True) as con:
        issues_after_t1 = con.execute(
            "SELECT SRCDOM, SRCRECID, FIELD, FIRST_EXTRACT, LAST_EXTRACT, STATUS FROM marts.data_issues "
            "WHERE SITEID = ? ORDER BY ALL", [SITE],
        ).fetchall()
    return audit_landing.warehouse, issues_after_t1


def _query(database, sql):
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _versions(database, table, recid, columns="LVEF"):
    return _query(
        database,
        f"SELECT {columns}, VALID_FROM, VALID_TO FROM history.{table} WHERE SITEID = '{SITE}' AND RECID = '{recid}' ORDER BY VALID_FROM",
    )


def test_corrected_value_keeps_both_versions(audit):
    warehouse, _ = audit
    # ECB changes in every transfer: T2's version exists although T2 and T3 came in one refresh
    assert _versions(warehouse, "echo", "ECB") == [("40", T1, T2), ("41.0", T2, T3), ("42", T3, None)]
    assert _versions(warehouse, "fs", "FSX", "SMWD") == [("2800", T1, T3), ("280", T3, None)]


def test_decimal_comma_is_not_a_change(audit):
    warehouse, _ = audit
    assert _versions(warehouse, "echo", "ECA", "LVEF, LVEDV") == [("27.5", "231.4", T1, None)]


def test_deleted_record_keeps_its_last_version_and_leaves_the_marts(audit):
    warehouse, _ = audit
    assert _versions(warehouse, "echo", "ECD") == [("35", T1, T3)]
    adeff_sources = {row[0] for row in _query(
        warehouse, f"SELECT DISTINCT SRCRECID FROM marts.adeff WHERE USUBJID = '{USUBJID}' AND PARAMCD = 'LVEFECHO'"
    )}
    assert adeff_sources == {"ECA", "ECB", "ECN"}  # ECE's LVEF is implausible, ECD is deleted


def test_two_transfers_of_one_refresh_are_historised_in_order(audit):
    warehouse, _ = audit
    assert _query(warehouse, f"SELECT EXTRACT_ID FROM history.transfers WHERE SITEID = '{SITE}' ORDER BY 1") == [
        (T1,), (T2,), (T3,)
    ]
    assert _versions(warehouse, "echo", "ECN") == [("33", T3, None)]


def test_issue_lifecycle_across_transfers(audit):
    warehouse, issues_after_t1 = audit
    assert issues_after_t1 == [
        ("echo", "ECE", "LVEF", T1, T1, "OPEN"),
        ("fs", "FSX", "SMWD", T1, T1, "OPEN"),
    ]
    issues = _query(
        warehouse,
        "SELECT SRCDOM, SRCRECID, FIELD, VALUE, RULE, FIRST_EXTRACT, LAST_EXTRACT, STATUS FROM marts.data_issues "
        f"WHERE SITEID = '{SITE}' ORDER BY ALL",
    )
    assert issues == [
        ("echo", "ECE", "LVEF", "270", "implausible", T1, T3, "OPEN"),
        # fixed in T3: LAST_EXTRACT is T2, a transfer that was never the latest at a refresh
        ("fs", "FSX", "SMWD", "2800", "implausible", T1, T2, "CLOSED"),
    ]
    ids = _query(warehouse, f"SELECT ISSUE_ID FROM marts.data_issues WHERE SITEID = '{SITE}'")
    assert len(set(ids)) == 2


def test_changes_between_the_last_two_transfers(audit):
    warehouse, _ = audit
    changes = _query(
        warehouse,
        "SELECT PREVIOUS_EXTRACT, EXTRACT_ID, SRCDOM, RECID, USUBJID, CHANGE, FIELD, OLD_VALUE, NEW_VALUE "
        f"FROM marts.transfer_changes WHERE SITEID = '{SITE}' ORDER BY SRCDOM, RECID",
    )
    assert changes == [
        (T2, T3, "echo", "ECB", USUBJID, "CHANGED", "LVEF", "41.0", "42"),
        (T2, T3, "echo", "ECD", USUBJID, "DELETED", None, None, None),
        (T2, T3, "echo", "ECN", USUBJID, "ADDED", None, None, None),
        (T2, T3, "fs", "FSX", USUBJID, "CHANGED", "SMWD", "2800", "280"),
    ]


def test_extract_log_has_loaded_and_rejected_transfers(audit):
    warehouse, _ = audit
    log = _query(warehouse, "SELECT EXTRACT_ID, STATUS, FILES, REASON IS NULL FROM marts.extract_log "
                            f"WHERE SITEID = '{SITE}' ORDER BY EXTRACT_ID")
    assert log == [(T1, "LOADED", 11, True), (T2, "LOADED", 11, True), (T3, "LOADED", 11, True), (T4, "REJECTED", 11, False)]
    [(reason,)] = _query(warehouse, f"SELECT REASON FROM marts.extract_log WHERE SITEID = '{SITE}' AND STATUS = 'REJECTED'")
    assert T4 in reason and "echo.csv" in reason and "file-sha256" in reason
    # T3: one row in each of 9 files, 4 echo rows (ECA, ECB, ECE, ECN) and 1 fs row
    assert _query(warehouse, f"SELECT ROWS FROM marts.extract_log WHERE SITEID = '{SITE}' AND EXTRACT_ID = '{T3}'") == [
        (9 + 4 + 1,)]


def _history_tables(con, *, as_stored: bool = False):
    """Every history table's rows, sorted; `as_stored`: the version tables' rows in the order stored."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'history' ORDER BY 1"
    ).fetchall() if not (as_stored and t == "transfers")]
    order = "" if as_stored else " ORDER BY ALL"
    return {t: con.execute(f"SELECT * FROM history.{t}{order}").fetchall() for t in tables}


def test_history_rebuilt_from_raw_equals_the_incremental_one(audit, tmp_path):
    warehouse, _ = audit
    copy = tmp_path / "build.duckdb"
    shutil.copy(build_database(warehouse), copy)
    with duckdb.connect(str(copy)) as con:
        incremental = _history_tables(con)
        rebuild_history(con)
        rebuilt = _history_tables(con)
    assert len(incremental) == 12 and incremental["echo"]
    assert rebuilt == incremental


def test_late_older_transfer_replays_the_site_in_extract_order(tmp_path):
    """A transfer older than one already historised is put in its place: the site is replayed."""
    landing = tmp_path / "landing"
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    for extract in (T1, T3):
        _write(landing, extract)
    ingest_new_transfers(con, landing)
    historise_new_transfers(con)
    assert _versions_on(con, "ECB") == [("40", T1, T3), ("42", T3, None)]

    _write(landing, T2)
    ingest_new_transfers(con, landing)
    report = historise_new_transfers(con)
    assert report.replayed_sites == [SITE]
    assert _versions_on(con, "ECB") == [("40", T1, T2), ("41.0", T2, T3), ("42", T3, None)]
    incremental = _history_tables(con)
    rebuild_history(con)
    assert _history_tables(con) == incremental
    con.close()


def _versions_on(con, recid):
    return con.execute(
        f"SELECT LVEF, VALID_FROM, VALID_TO FROM history.echo WHERE RECID = '{recid}' ORDER BY VALID_FROM"
    ).fetchall()


def test_a_site_historised_at_once_equals_its_transfers_replayed_one_by_one(audit, sample_build, tmp_path):
    """A site without history is historised in one query per file; replaying its transfers one at a
    time (as later transfers are) gives the same versions: the sample's four transfers (KZ01) and
    KZ70's three (a decimal-comma transfer, a corrected, a deleted and an added record)."""
    from orchestration import history

    for source in (sample_build, build_database(audit[0])):
        copy = tmp_path / f"{source.stem}.duckdb"
        shutil.copy(source, copy)
        with duckdb.connect(str(copy)) as con:
            rebuild_history(con)
            at_once = _history_tables(con)
            for site, extracts in history._loaded_by_site(con).items():
                history._forget_site(con, site)
                history._replay(con, site, extracts, history.HistoryReport(), lambda line: None)
            replayed = _history_tables(con)
        assert sum(len(rows) for rows in at_once.values()) > 20
        assert replayed == at_once


def test_sites_historised_in_parts_equal_one_query_over_them_all(tmp_path, monkeypatch):
    """A first build historises each file a few sites at a time (HISTORY_PART_ROWS raw rows): the
    same versions, inserted in the same order, as one query over every site (three sites, each
    with KZ70's three transfers: a decimal-comma one, a correction, a deletion, an addition)."""
    from orchestration import history

    landing, sites = tmp_path / "landing", ["KZ71", "KZ72", "KZ73"]
    for site in sites:
        for extract in (T1, T2, T3):
            comma = extract == T2
            rows = {d: [dict(r, SUBJID="001") for r in records] for d, records in _rows(extract).items()}
            write_transfer(landing, site, extract, rows, delimiter=";" if comma else ",",
                           decimal_separator="," if comma else ".")
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        ingest_new_transfers(con, landing)
        historise_new_transfers(con)
        one_query = _history_tables(con, as_stored=True)
        monkeypatch.setattr(history, "HISTORY_PART_ROWS", 1)  # every site a part of its own
        assert history._site_parts(con, "echo", sites) == [[site] for site in sites]
        rebuild_history(con)
        in_parts = _history_tables(con, as_stored=True)
    assert len(one_query["echo"]) == 3 * 7  # per site: ECA 1 (27,5 is 27.5), ECB 3, ECD, ECE, ECN 1 each
    assert in_parts == one_query
