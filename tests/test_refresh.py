"""`regenheart refresh` end to end on the shipped sample: real files, real Dagster and dbt runs."""

import csv
import json
import shutil
from pathlib import Path

import duckdb

from conftest import SAMPLE_LANDING, build_database, copy_of_warehouse, run_refresh, tree_digest
from processes import duckdb_file_held

from orchestration import build_state
from orchestration.refresh import nothing_new
from orchestration.settings import Settings


def _manifests():
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLE_LANDING.glob("*/*/manifest.json"))]


def _snapshot(warehouse):
    """Every table and view of every schema of the published file and the build database."""
    return {path.name: _tables(path) for path in (warehouse, build_database(warehouse))}


def _tables(database):
    with duckdb.connect(str(database), read_only=True) as con:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT * FROM "{s}"."{t}" ORDER BY ALL').fetchall() for s, t in relations}


def test_refresh_loads_every_sample_transfer(sample_refresh):
    warehouse, result, landing_before = sample_refresh.warehouse, sample_refresh.result, sample_refresh.landing_before
    assert result.returncode == 0, result.stderr
    assert f"Warehouse: {warehouse}" in result.stdout
    for step in ("ingest_transfers", "dbt_staging", "dbt_analysis", "published_warehouse"):
        assert f"{step}: done" in result.stderr, step

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = 'warehouse'").fetchone() == ("v1.2.0+",)
        assert {r[0] for r in con.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()} == {"marts", "history", "sdtm", "adam"}
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        log = con.execute("SELECT SITEID, EXTRACT_ID, STATUS, REASON, FILES, ROWS FROM marts.extract_log ORDER BY ALL").fetchall()
        expected = [
            (m["site_id"], m["extract_id"], "LOADED", None, len(m["files"]), sum(f["rows"] for f in m["files"]))
            for m in _manifests()
        ]
        assert log == expected
        assert len(log) >= 4
        for manifest in _manifests():
            for listed in manifest["files"]:
                table = listed["name"].removesuffix(".csv")
                count = con.execute(
                    f"SELECT count(*) FROM raw.{table} WHERE SITEID = ? AND EXTRACT_ID = ?",
                    [manifest["site_id"], manifest["extract_id"]],
                ).fetchone()[0]
                assert count == listed["rows"], (manifest["extract_id"], listed["name"])
    assert tree_digest(SAMPLE_LANDING) == landing_before, "raw files are never modified"


def test_second_refresh_loads_nothing_and_changes_nothing(sample_warehouse):
    warehouse = sample_warehouse
    before = _snapshot(warehouse)
    second = run_refresh(SAMPLE_LANDING, warehouse)
    assert second.returncode == 0, second.stderr
    assert "loaded" not in second.stderr.replace("ingest_transfers: done", "")
    assert "nothing new since the last publication" in second.stderr
    assert "(checked before starting Dagster)" in second.stderr
    for step in ("ingest_transfers", "historise_transfers", "dbt_staging", "dbt_analysis", "published_warehouse", "study_report"):
        assert f"{step}: started" not in second.stderr, f"{step} ran with nothing new"
    assert _snapshot(warehouse) == before


def test_nothing_new_is_answered_before_dagster_starts(sample_warehouse, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    settings = Settings(landing, sample_warehouse)
    assert nothing_new(settings)

    (landing / "KZ99" / "20990101T000000Z").mkdir(parents=True)
    assert nothing_new(settings), "a folder without manifest.json is still arriving: nothing new yet"
    (landing / "KZ99" / "20990101T000000Z" / "manifest.json").write_text("{}")
    assert not nothing_new(settings), "a complete transfer not in the transfer log (even a bad one) is new"

    assert not nothing_new(Settings(SAMPLE_LANDING, tmp_path / "none" / "warehouse.duckdb")), "no build yet"


def test_nothing_new_is_false_for_other_code(sample_warehouse, monkeypatch):
    monkeypatch.setattr(build_state, "code_digest", lambda: "other code")
    assert not nothing_new(Settings(SAMPLE_LANDING, sample_warehouse))


def test_nothing_new_leaves_a_locked_build_database_to_the_run(sample_warehouse, tmp_path):
    warehouse = copy_of_warehouse(sample_warehouse, tmp_path / "copy")
    assert nothing_new(Settings(SAMPLE_LANDING, warehouse))
    with duckdb_file_held(build_database(warehouse)):
        assert not nothing_new(Settings(SAMPLE_LANDING, warehouse)), "a refresh is writing it: the run decides"


def test_raw_keeps_every_row_with_its_origin(sample_build):
    warehouse = sample_build
    first = _manifests()[0]
    with (SAMPLE_LANDING / first["site_id"] / first["extract_id"] / "dm.csv").open(encoding=first["encoding"] + "-sig" if first["encoding"] == "utf-8" else first["encoding"], newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=first["delimiter"]))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute(
            "SELECT SOURCE_FILE, SOURCE_LINE, RECID, SUBJID, BRTHYR FROM raw.dm WHERE EXTRACT_ID = ? ORDER BY SOURCE_LINE",
            [first["extract_id"]],
        ).fetchall()
    assert loaded == [
        ("dm.csv", line, row["RECID"], row["SUBJID"], row["BRTHYR"]) for line, row in enumerate(rows, start=2)
    ]
    assert all(subjid.startswith("0") for _, _, _, subjid, _ in loaded[:9]), "SUBJID keeps its leading zeros"


def _cp1251_manifest():
    [manifest] = [m for m in _manifests() if m["encoding"] == "cp1251"]
    return manifest


def test_cp1251_transfer_keeps_cyrillic_verbatims(sample_build):
    warehouse = sample_build
    manifest = _cp1251_manifest()
    assert (manifest["delimiter"], manifest["decimal_separator"]) == (";", ",")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        terms = {r[0] for r in con.execute("SELECT AETERM FROM raw.ae WHERE EXTRACT_ID = ?", [manifest["extract_id"]]).fetchall()}
    assert {
        "Боль в груди",
        "Гематома в месте пункции",
        "Пароксизм фибрилляции предсердий",
        "Повышение тропонина",
        'Перебои в работе сердца, "замирания"',
    } <= terms


def test_what_is_new_is_one_rule_for_every_asker():
    from orchestration.build_state import PublishedBuild, what_is_new
    from orchestration.ingestion.transfers import TransferRef

    old, new = TransferRef("KZ01", "20210101T020000Z", Path(".")), TransferRef("KZ01", "20210201T020000Z", Path("."))
    built = PublishedBuild(transfers=frozenset({old.key}))
    assert not what_is_new([old], built), "every landed transfer published, same code, outputs current"
    assert what_is_new([old, new], built).transfers == (new,)
    assert what_is_new([], None).rebuild and what_is_new([old], None).transfers == (old,), "nothing published"
    assert what_is_new([old], PublishedBuild(built.transfers, stale=True)).rebuild, "new code or a transfer logged since"
    behind = what_is_new([old], PublishedBuild(built.transfers, outputs_behind=("exports",)))
    assert behind and not behind.rebuild and behind.outputs_behind == ("exports",)
    assert what_is_new([old], built, landing_changes=["changed"]).landing_changes == ("changed",)
