"""Publishing after some sites changed: a copy of the published file with those sites' rows
replaced, the tables without a site copied whole, and every table from scratch when the copy's
row counts do not match the build database's."""

import duckdb

from orchestration.publishing import publish


def _build(path):
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA history")
    con.execute("CREATE TABLE marts.adsl AS SELECT * FROM (VALUES ('A', 'NCT04325594-A-1', 1), ('A', 'NCT04325594-A-2', 2), ('B', 'NCT04325594-B-1', 3)) t(SITEID, USUBJID, AGE)")
    con.execute("CREATE TABLE marts.adae AS SELECT * FROM (VALUES ('NCT04325594-A-1', 'HEADACHE'), ('NCT04325594-B-1', 'NAUSEA')) t(USUBJID, AETERM)")
    con.execute("CREATE TABLE marts.safety_summary AS SELECT * FROM (VALUES ('ANY', 2)) t(LEVEL, N_SUBJ)")
    con.execute("CREATE TABLE history.dm AS SELECT * FROM (VALUES ('A', '1', 'T1'), ('B', '1', 'T1')) t(SITEID, SUBJID, VALID_FROM)")
    return con


def _tables(con):
    return {
        f"{schema}.{table}": sorted(con.execute(f'SELECT * FROM {schema}."{table}"').fetchall())
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY ALL"
        ).fetchall()
    }


def _rows(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return _tables(con)


def test_only_the_changed_sites_rows_are_copied_again(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    con = _build(tmp_path / "build.duckdb")
    assert not publish(con, published).incremental
    # site A: a subject changed, one gone, an AE added; the summary changed; site B as it was
    con.execute("UPDATE marts.adsl SET AGE = 10 WHERE USUBJID = 'NCT04325594-A-1'")
    con.execute("DELETE FROM marts.adsl WHERE USUBJID = 'NCT04325594-A-2'")
    con.execute("INSERT INTO marts.adae VALUES ('NCT04325594-A-1', 'DIZZINESS')")
    con.execute("INSERT INTO history.dm VALUES ('A', '1', 'T2')")
    con.execute("UPDATE marts.safety_summary SET N_SUBJ = 1")
    publication = publish(con, published, ["A"])
    assert publication.incremental
    assert publication.tables == {"history.dm": 3, "marts.adae": 3, "marts.adsl": 2, "marts.safety_summary": 1}
    assert _rows(published) == {
        "history.dm": [("A", "1", "T1"), ("A", "1", "T2"), ("B", "1", "T1")],
        "marts.adae": [("NCT04325594-A-1", "DIZZINESS"), ("NCT04325594-A-1", "HEADACHE"), ("NCT04325594-B-1", "NAUSEA")],
        "marts.adsl": [("A", "NCT04325594-A-1", 10), ("B", "NCT04325594-B-1", 3)],
        "marts.safety_summary": [("ANY", 1)],
    }
    assert not list(tmp_path.glob("*publishing-*"))


def test_a_copy_that_does_not_match_the_build_is_published_from_scratch(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    con = _build(tmp_path / "build.duckdb")
    publish(con, published)
    # site B changed too, but only A is said to have: the row counts tell
    con.execute("INSERT INTO marts.adsl VALUES ('B', 'NCT04325594-B-2', 4)")
    publication = publish(con, published, ["A"])
    assert not publication.incremental
    assert _rows(published) == _tables(con)


def test_a_table_whose_columns_changed_is_copied_whole(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    con = _build(tmp_path / "build.duckdb")
    publish(con, published)
    con.execute("ALTER TABLE marts.adae ADD COLUMN AESER VARCHAR DEFAULT 'N'")
    con.execute("DROP TABLE history.dm")
    publication = publish(con, published, ["A"])
    assert publication.incremental
    assert _rows(published) == _tables(con)


def test_trial_design_tables_without_a_site_are_copied_whole(tmp_path):
    """SDTM trial design tables (TS, TV, ...) have neither SITEID nor USUBJID: an incremental
    publication copies them whole, changed values and new tables included; SE goes by USUBJID."""
    published = tmp_path / "warehouse.duckdb"
    con = _build(tmp_path / "build.duckdb")
    con.execute("CREATE SCHEMA sdtm")
    con.execute("CREATE TABLE sdtm.ts AS SELECT * FROM (VALUES ('ACTSUB', '2'), ('REGID', 'NCT04325594')) t(TSPARMCD, TSVAL)")
    con.execute("CREATE TABLE sdtm.se AS SELECT * FROM (VALUES ('NCT04325594-A-1', 1), ('NCT04325594-B-1', 1)) t(USUBJID, SESEQ)")
    publish(con, published)
    # site A: a subject's second element; ACTSUB changed (same row count); TV new
    con.execute("INSERT INTO sdtm.se VALUES ('NCT04325594-A-1', 2)")
    con.execute("UPDATE sdtm.ts SET TSVAL = '3' WHERE TSPARMCD = 'ACTSUB'")
    con.execute("CREATE TABLE sdtm.tv AS SELECT * FROM (VALUES (1, 'SCREENING')) t(VISITNUM, VISIT)")
    publication = publish(con, published, ["A"])
    assert publication.incremental
    rows = _rows(published)
    assert rows["sdtm.ts"] == [("ACTSUB", "3"), ("REGID", "NCT04325594")]
    assert rows["sdtm.tv"] == [(1, "SCREENING")]
    assert rows["sdtm.se"] == [("NCT04325594-A-1", 1), ("NCT04325594-A-1", 2), ("NCT04325594-B-1", 1)]
    assert rows == _tables(con)
