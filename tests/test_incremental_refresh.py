"""A new transfer at one site restages, rebuilds and revalidates that site only, and builds what a
build from scratch builds.

Sites KZ80 and KZ81 send one transfer each (first refresh: every site built and validated). Then
KZ80 sends T2 (second refresh): subject 001's baseline LVEF corrected 27.5 -> 30.0, subject 002
added, and ds.csv empty (nobody has a disposition yet). KZ81 sends nothing.
"""

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import build_database, read_parts, run_dbt, run_refresh
from orchestration.build_state import record_publication, sites_changed_since_publication
from orchestration.publishing import PUBLISHED_SCHEMAS, publish
from transfer_factory import minimal_rows, write_transfer

SDTM_DATASETS = len(list((Path(__file__).parents[1] / "dbt_project" / "models" / "sdtm").glob("sdtm_*.sql")))
ADAM_DATASETS = len(list((Path(__file__).parents[1] / "dbt_project" / "models" / "adam").glob("adam_*.sql")))

CHANGED, UNCHANGED = "KZ80", "KZ81"
T1, T2 = "20210101T020000Z", "20210401T020000Z"


def _second_transfer_rows():
    rows = minimal_rows("001", lvef="30.0")
    for domain, extra in minimal_rows("002").items():
        rows[domain] += extra
    rows["ds"] = []
    return rows


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    landing, warehouse = root / "landing", root / "incremental" / "warehouse.duckdb"
    write_transfer(landing, CHANGED, T1, minimal_rows("001"))
    write_transfer(landing, UNCHANGED, T1, minimal_rows("001"))
    first = run_refresh(landing, warehouse)
    assert first.returncode == 0, first.stderr
    write_transfer(landing, CHANGED, T2, _second_transfer_rows())
    second = run_refresh(landing, warehouse)
    assert second.returncode == 0, second.stderr
    # every model built from scratch on a copy, for comparison
    (root / "rebuilt").mkdir()
    rebuilt = root / "rebuilt" / "warehouse.duckdb"
    shutil.copyfile(build_database(warehouse), build_database(rebuilt))
    built = run_dbt(rebuilt, "run", "--full-refresh")
    assert built.returncode == 0, built.stdout
    return warehouse, rebuilt, first.stderr, second.stderr


def _rows(warehouse, sql):
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        return con.execute(sql).fetchall()


def _dbt_commands(progress: str) -> dict[str, str]:
    return {
        line.split("] ", 1)[1].split(":", 1)[0]: line
        for line in progress.splitlines() if "Running dbt command" in line
    }


def test_first_build_is_full_then_only_the_changed_site_is_rebuilt_and_validated(refreshed):
    _, _, first, second = refreshed
    assert "rebuilding every site (first build, new code or --rebuild)" in first
    assert f"sites changed since the last publication: {CHANGED}\n" in second
    first_dbt, second_dbt = _dbt_commands(first), _dbt_commands(second)
    assert set(first_dbt) == set(second_dbt) == {"dbt_staging", "dbt_analysis"}
    assert all("--full-refresh" in command for command in first_dbt.values())
    assert not any("--full-refresh" in command for command in second_dbt.values())
    for gate in ("gx_history_gate", "gx_staging_gate", "gx_marts_gate"):
        assert f"{gate}: validating every site\n" in first
        assert f"{gate}: validating sites {CHANGED}\n" in second


def test_the_changed_site_is_restaged_and_the_other_kept(refreshed):
    warehouse, *_ = refreshed
    assert _rows(warehouse, "SELECT SITEID, EXTRACT_ID, SUBJID, LVEF FROM staging.stg_edc__echo ORDER BY ALL") == [
        (CHANGED, T2, "001", 30.0),
        (CHANGED, T2, "002", 27.5),
        (UNCHANGED, T1, "001", 27.5),
    ]
    # KZ80's ds.csv is empty in T2: its T1 row is gone, KZ81's stays
    assert _rows(warehouse, "SELECT SITEID, EXTRACT_ID, SUBJID FROM staging.stg_edc__ds ORDER BY ALL") == [
        (UNCHANGED, T1, "001"),
    ]
    assert _rows(warehouse, "SELECT USUBJID, BLVEF FROM marts.adsl ORDER BY ALL") == [
        (f"NCT04325594-{CHANGED}-001", 30.0),
        (f"NCT04325594-{CHANGED}-002", 27.5),
        (f"NCT04325594-{UNCHANGED}-001", 27.5),
    ]


def _assert_same_tables(database, other, schemas, expected_tables):
    """Every table of `schemas` in `database` holds the same rows (as a multiset) as in `other`."""
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name IN (SELECT unnest(?::VARCHAR[])) ORDER BY ALL",
            [list(schemas)],
        ).fetchall()
        assert len(tables) == expected_tables
        for schema, table in tables:
            here, there = f'"{schema}"."{table}"', f'other."{schema}"."{table}"'
            differ = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM {here} EXCEPT ALL SELECT * FROM {there}) "
                f"UNION ALL (SELECT * FROM {there} EXCEPT ALL SELECT * FROM {here}))"
            ).fetchone()[0]
            assert differ == 0, f"{schema}.{table}: {differ} rows differ"


def test_incremental_build_equals_build_from_scratch(refreshed):
    warehouse, rebuilt, *_ = refreshed
    _assert_same_tables(build_database(warehouse), build_database(rebuilt), ("staging", "intermediate", "marts", "sdtm", "adam"),
                        12 + 16 + 9 + SDTM_DATASETS + ADAM_DATASETS)  # staging, intermediate, marts


def test_incremental_publication_equals_publication_from_scratch(refreshed, tmp_path):
    warehouse, _, _, second = refreshed
    assert f"(the rows of sites {CHANGED} copied again)" in second
    build_copy = tmp_path / "build.duckdb"
    shutil.copyfile(build_database(warehouse), build_copy)
    with duckdb.connect(str(build_copy)) as con:
        from_scratch = publish(con, tmp_path / "from-scratch.duckdb")
    assert not from_scratch.incremental
    _assert_same_tables(warehouse, tmp_path / "from-scratch.duckdb", PUBLISHED_SCHEMAS, 9 + 12 + SDTM_DATASETS + ADAM_DATASETS)


def test_sites_changed_since_publication(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.transfer_log (SITEID VARCHAR, EXTRACT_ID VARCHAR, STATUS VARCHAR)")
    assert sites_changed_since_publication(con) is None  # nothing published: every site
    con.execute("INSERT INTO raw.transfer_log VALUES ('KZ01', 'T1', 'LOADED'), ('KZ02', 'T1', 'LOADED')")
    record_publication(con, tmp_path / "warehouse.duckdb")
    assert sites_changed_since_publication(con) == []
    # a rejected transfer changes its site's extract_log rows; a new site is changed
    con.execute("INSERT INTO raw.transfer_log VALUES ('KZ02', 'T2', 'REJECTED'), ('KZ03', 'T1', 'LOADED')")
    assert sites_changed_since_publication(con) == ["KZ02", "KZ03"]
    # published by other code (a model, rule or suite changed): every site
    con.execute("UPDATE ops.publications SET CODE_DIGEST = 'other code'")
    assert sites_changed_since_publication(con) is None


def test_a_publication_recorded_before_the_scope_columns_rebuilds_every_site(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.transfer_log (SITEID VARCHAR, EXTRACT_ID VARCHAR, STATUS VARCHAR)")
    con.execute("CREATE SCHEMA ops")
    con.execute("CREATE TABLE ops.publications (PUBLISHED_AT TIMESTAMP NOT NULL, FINGERPRINT VARCHAR NOT NULL, PATH VARCHAR NOT NULL)")
    con.execute("INSERT INTO ops.publications VALUES (now(), 'fingerprint', 'warehouse.duckdb')")
    assert sites_changed_since_publication(con) is None


def test_an_incremental_build_tests_the_rebuilt_sites_rows_and_dbt_test_every_row(refreshed, tmp_path):
    warehouse, *_ = refreshed
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(build_database(warehouse), build_database(copy))
    with duckdb.connect(str(build_database(copy))) as con:
        assert con.execute("SELECT SITEID FROM ops.rebuilt_sites").fetchall() == [(CHANGED,)]
        con.execute(f"UPDATE marts.adeff SET STUDYID = 'NCT00000000' WHERE SITEID = '{UNCHANGED}'")
    built = run_dbt(copy, "build", "--select", "adeff")  # rebuilds KZ80's rows, tests them
    assert built.returncode == 0, built.stdout
    tested = run_dbt(copy, "test", "--select", "adeff")
    assert tested.returncode == 1
    assert "FAIL 1 accepted_values_adeff_STUDYID__NCT04325594" in tested.stdout


def test_the_published_sdtm_rows_are_in_the_packages_order_site_by_site(refreshed, dbt_manifest):
    """The changed site's rows were published again after the unchanged site's: the package reads
    every subject dataset as stored, the sites' blocks in USUBJID order, and gets the rows of one
    sort of the table, checked row by row (the models insert their rows in that order)."""
    from orchestration.dbt_manifest import MANIFEST_PATH
    from orchestration.submission.metadata import load_metadata
    from orchestration.submission.package import OrderCheck, _sort_order
    from orchestration.submission.published import open_published, stored_parts, table_columns

    warehouse, *_ = refreshed
    con, _ = open_published(warehouse)
    with con:
        first_rows = dict(con.execute(
            "SELECT split_part(USUBJID, '-', 2), min(rowid) FROM sdtm.qs GROUP BY ALL").fetchall())
        assert first_rows[UNCHANGED] < first_rows[CHANGED]  # stored KZ81 first, read KZ80 first
        read_as_stored = []
        for table, dataset in sorted(load_metadata(MANIFEST_PATH).datasets.items()):
            order = _sort_order(dataset, [c.name for c in table_columns(con, table)])
            parts = stored_parts(con, table, order)
            if parts is None:
                continue
            rows = read_parts(con, parts, OrderCheck(order), batch_rows=3)
            ordering = ", ".join(f'"{c}" NULLS FIRST' for c in order)
            assert rows == con.execute(f"SELECT * FROM sdtm.{table} ORDER BY {ordering}").fetchall(), table
            read_as_stored.append(table)
    assert read_as_stored == ["ae", "cv", "dm", "ds", "ex", "ft", "lb", "qs", "rs", "se", "sv"]
