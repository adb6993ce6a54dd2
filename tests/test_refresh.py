"""`regenheart refresh` end to end on the shipped sample: real files, real Dagster and dbt runs."""

import csv
import io
import json
import shutil

import duckdb
import pytest

from conftest import SAMPLE_LANDING, run_refresh, tree_digest
from transfer_factory import minimal_rows, write_transfer


def _manifests():
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLE_LANDING.glob("*/*/manifest.json"))]


def _snapshot(warehouse):
    """Every table and view of every schema, all rows, sorted."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT * FROM "{s}"."{t}" ORDER BY ALL').fetchall() for s, t in relations}


def test_refresh_loads_every_sample_transfer(sample_refresh):
    warehouse, result, landing_before = sample_refresh.warehouse, sample_refresh.result, sample_refresh.landing_before
    assert result.returncode == 0, result.stderr
    assert f"Warehouse: {warehouse}" in result.stdout
    assert "ingest_transfers: done" in result.stderr and "regenheart_dbt_models: done" in result.stderr

    with duckdb.connect(str(warehouse), read_only=True) as con:
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
    assert _snapshot(warehouse) == before


def test_raw_keeps_every_row_with_its_origin(sample_warehouse):
    warehouse = sample_warehouse
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


def test_cp1251_transfer_keeps_cyrillic_verbatims(sample_warehouse):
    warehouse = sample_warehouse
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


def test_cp1251_decimal_commas_read_as_numbers(tmp_path):
    """Staging reads each site's latest transfer: stop the landing at the cp1251 one."""
    manifest = _cp1251_manifest()
    landing = tmp_path / "landing"
    site = SAMPLE_LANDING / manifest["site_id"]
    for extract in sorted(site.iterdir()):
        if extract.name <= manifest["extract_id"]:
            shutil.copytree(extract, landing / manifest["site_id"] / extract.name)
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_refresh(landing, warehouse)
    assert result.returncode == 0, result.stderr

    text = (landing / manifest["site_id"] / manifest["extract_id"] / "ct.csv").read_bytes().decode("cp1251")
    delivered = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    with_comma = [(r["RECID"], column, r[column]) for r in delivered for column in ("LVEF", "IVS", "LVPW") if "," in r[column]]
    assert len(with_comma) > 20, "the cp1251 sample has decimal commas"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = {r[0]: r for r in con.execute("SELECT RECID, LVEF, IVS, LVPW FROM staging.stg_edc__ct").fetchall()}
        assert con.execute("SELECT DISTINCT EXTRACT_ID FROM staging.stg_edc__ct").fetchall() == [(manifest["extract_id"],)]
        assert staged["001-001"][1:] == (28.2, 9.2, 8.3)
        assert con.execute(
            "SELECT LBORRES, LBSTRESN, LBORRESU, LBORNRHI FROM staging.stg_edc__lb WHERE RECID = '021-014'"
        ).fetchall() == [("138,2", pytest.approx(138.2 * 8.457), "pmol/L", 14.8)]  # NT-proBNP analysed in pg/mL
        assert con.execute("SELECT DISTINCT EXDOSE FROM staging.stg_edc__ex").fetchall() == [(1.0e7,)]
    position = {"LVEF": 1, "IVS": 2, "LVPW": 3}
    for recid, column, value in with_comma:
        assert staged[recid][position[column]] == float(value.replace(",", ".")), (recid, column)


def test_rejected_transfer_fails_the_refresh_but_not_the_other_sites(tmp_path):
    landing = tmp_path / "landing"
    good = write_transfer(landing, site_id="KZ98", extract_id="20210301T020000Z", rows=minimal_rows("001", lvef="31.0"))
    bad = write_transfer(landing, site_id="KZ99", extract_id="20210301T020000Z")
    (bad / "ct.csv").unlink()
    bad_before = tree_digest(bad)

    result = run_refresh(landing, tmp_path / "warehouse.duckdb")

    assert result.returncode == 1
    assert "REJECTED transfer KZ99/20210301T020000Z, file ct.csv: listed in the manifest but not delivered [rule listed-file-missing]" in result.stderr
    assert tree_digest(bad) == bad_before
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT SITEID, EXTRACT_ID, LVEF FROM staging.stg_edc__echo").fetchall() == [
            ("KZ98", good.name, 31.0)
        ]
        assert con.execute("SELECT SITEID, STATUS FROM marts.extract_log ORDER BY ALL").fetchall() == [
            ("KZ98", "LOADED"), ("KZ99", "REJECTED")
        ]
