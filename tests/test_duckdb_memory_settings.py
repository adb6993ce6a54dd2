"""DuckDB's memory in a refresh: a quarter of the machine's memory, at most 2 GB, by default; what
does not fit spills to `<database>.tmp/` beside the database (the refresh's connections and dbt's)."""

from pathlib import Path

import yaml

from conftest import REPO_ROOT
from orchestration import settings

GB = 10**9


def test_default_memory_limit_is_a_quarter_of_the_machine_at_most_2gb(monkeypatch):
    monkeypatch.delenv("REGENHEART_DUCKDB_MEMORY_LIMIT", raising=False)
    for machine, expected in ((4 * GB, "1000MB"), (6 * GB, "1500MB"), (8 * GB, "2000MB"), (24 * GB, "2000MB"), (None, "2000MB")):
        monkeypatch.setattr(settings, "machine_memory", lambda machine=machine: machine)
        assert settings.duckdb_memory_limit() == expected, machine
    monkeypatch.setenv("REGENHEART_DUCKDB_MEMORY_LIMIT", "6GB")
    assert settings.duckdb_memory_limit() == "6GB"


def test_machine_memory_is_known_here():
    memory = settings.machine_memory()
    assert memory is None or memory > 10**8


def test_connections_spill_beside_their_database(tmp_path, monkeypatch):
    from orchestration.warehouse import connect

    monkeypatch.setenv("REGENHEART_DUCKDB_MEMORY_LIMIT", "64MB")
    database = tmp_path / "spill.duckdb"
    con = connect(database)
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone() == (f"{database}.tmp",)
        # a sort of about 300 MB under a 64 MB limit spills
        con.execute("CREATE TABLE t AS SELECT random() AS r, repeat('x', 20) || i AS s FROM range(6000000) t(i)")
        result = con.execute("SELECT * FROM t ORDER BY r")
        assert len(result.fetch_df_chunk(1)) > 0
        assert any((tmp_path / "spill.duckdb.tmp").iterdir()), "the sort spilled beside the database"
        # a second connection of this process to the same file shares the database and its folder
        second = connect(database)
        second.close()
    finally:
        con.close()


def test_dbt_spills_beside_the_build_database():
    profile = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())["regenheart"]["outputs"]["warehouse"]
    # set once when dbt opens the database: dbt sets `settings` again on every cursor, which DuckDB
    # refuses for the spill folder once it has been used
    assert profile["config_options"]["temp_directory"] == profile["path"] + ".tmp"
    assert "temp_directory" not in profile["settings"]
    assert "REGENHEART_DUCKDB_MEMORY_LIMIT" in profile["settings"]["memory_limit"]
    assert Path(settings.duckdb_temp_directory(Path("/w/warehouse.build.duckdb"))) == Path("/w/warehouse.build.duckdb.tmp")
