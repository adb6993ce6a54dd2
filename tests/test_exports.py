"""Exports for statisticians: marts as Parquet and CSV, the ADaM datasets as SAS transport v5."""

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from orchestration.exports import write_exports
from orchestration.exports.files import atomic_file
from orchestration.exports.labels import LABELS_CSV, XptVariable, load_variables
from orchestration.exports.row_order import ROW_ORDER, ordered
from orchestration.exports.xpt import XPT_DATASETS, XptLimitError, check_xpt_frame, plan_dataset, write_xpt
from contract import MARTS

SORT_KEYS = {"adsl": ["USUBJID"], "adeff": ["USUBJID", "PARAMCD", "ADT", "PREINFFL"], "adae": ["USUBJID", "SRCRECID"]}


@pytest.fixture(scope="module")
def marts(sample_warehouse):
    """Every marts table of the sample as a DataFrame (read once, connection closed)."""
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()]
        frames = {t: con.execute(f'SELECT * FROM marts."{t}"').df() for t in tables}
        types = {
            t: dict(con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [t],
            ).fetchall())
            for t in tables
        }
    finally:
        con.close()
    return frames, types


@pytest.fixture(scope="module")
def refresh_exports(sample_warehouse) -> Path:
    return sample_warehouse.parent / "exports"


def test_the_refresh_wrote_every_export_with_its_row_count(refresh_exports, marts):
    frames, _ = marts
    assert set(MARTS) <= set(frames)
    expected = {f"{t}.{ext}": len(frame) for t, frame in frames.items() for ext in ("parquet", "csv")}
    expected |= {f"{t}.xpt": len(frames[t]) for t in XPT_DATASETS}
    manifest = json.loads((refresh_exports / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == expected
    assert sorted(p.name for p in refresh_exports.iterdir()) == sorted([*expected, "manifest.json"]), (
        "no partial or foreign file is left"
    )


@pytest.mark.parametrize("table", sorted(XPT_DATASETS))
def test_xpt_reads_back_as_the_mart(table, refresh_exports, marts):
    frames, types = marts
    mart, mart_types = frames[table], types[table]
    variables = load_variables()[table]
    xpt, meta = pyreadstat.read_xport(str(refresh_exports / f"{table}.xpt"))

    assert meta.table_name == table.upper() and meta.file_label == XPT_DATASETS[table]
    assert list(xpt.columns) == [variables[c].name for c in mart.columns]
    assert meta.column_names_to_labels == {v.name: v.label for v in variables.values()}
    assert len(xpt) == len(mart)

    # Text NULL has no XPT form: it is written, and read back, as an empty string.
    text = [c for c, t in mart_types.items() if t == "VARCHAR"]
    nulls = {c: int(mart[c].isna().sum()) for c in text}
    assert any(nulls.values()), "the sample has NULL text to check"
    for column in text:
        name = variables[column].name
        assert int((xpt[name] == "").sum()) == nulls[column] + int((mart[column] == "").sum()), column
        assert xpt[name].notna().all(), column
    expected = mart.rename(columns={c: variables[c].name for c in mart.columns})
    expected[[variables[c].name for c in text]] = expected[[variables[c].name for c in text]].fillna("")

    keys = [variables[c].name for c in SORT_KEYS[table]]
    expected = expected.sort_values(keys, kind="stable").reset_index(drop=True)
    xpt = xpt.sort_values(keys, kind="stable").reset_index(drop=True)
    for column, duckdb_type in mart_types.items():
        name = variables[column].name
        got, want = xpt[name], expected[name]
        if duckdb_type == "VARCHAR":
            assert got.tolist() == want.tolist(), name
            assert meta.original_variable_types[name] is None and meta.readstat_variable_types[name] == "string"
        elif duckdb_type == "DATE":
            assert _sas_format(meta, name) == "DATE9."
            assert [_as_date(v) for v in got] == [None if pd.isna(v) else v.date() for v in want], name
        elif duckdb_type == "TIMESTAMP":
            assert _sas_format(meta, name) == "DATETIME20."
            assert got.isna().tolist() == want.isna().tolist(), name
            assert (got[got.notna()] == want[want.notna()]).all(), name
        else:
            assert meta.readstat_variable_types[name] == "double"
            np.testing.assert_allclose(got.astype(float), want.astype(float), rtol=1e-12, equal_nan=True, err_msg=name)


def _sas_format(meta, name):
    """The variable's format as SAS names it ("DATE9."): pyreadstat 1.3.8 reads it so, 1.3.7 without the dot."""
    sas_format = meta.original_variable_types[name]
    return sas_format if sas_format.endswith(".") else sas_format + "."


def _as_date(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    assert type(value) is dt.date, f"{value!r} reads back as a date"
    return value


def test_parquet_and_csv_hold_the_marts(sample_warehouse, refresh_exports, marts):
    frames, types = marts
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        for table in frames:
            parquet, csv_path = refresh_exports / f"{table}.parquet", refresh_exports / f"{table}.csv"
            assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0] == len(frames[table])
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()
            assert [row[:2] for row in described] == list(types[table].items()), "Parquet keeps names and types"
            for query in (
                f"SELECT * FROM marts.\"{table}\" EXCEPT ALL SELECT * FROM read_parquet('{parquet}')",
                f"SELECT * FROM read_parquet('{parquet}') EXCEPT ALL SELECT * FROM marts.\"{table}\"",
                # The CSV holds what DuckDB prints for each value; NULL is an empty field.
                f"SELECT COLUMNS(*)::VARCHAR FROM marts.\"{table}\" "
                f"EXCEPT ALL SELECT * FROM read_csv('{csv_path}', header = true, all_varchar = true)",
                f"SELECT * FROM read_csv('{csv_path}', header = true, all_varchar = true) "
                f"EXCEPT ALL SELECT COLUMNS(*)::VARCHAR FROM marts.\"{table}\"",
            ):
                assert con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0] == 0, query
    finally:
        con.close()

    with (refresh_exports / "adsl.csv").open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    adsl = frames["adsl"].iloc[0]
    assert first["USUBJID"] == adsl["USUBJID"] and first["SUBJID"] == adsl["SUBJID"] == "001"
    assert first["CONSDT"] == adsl["CONSDT"].date().isoformat()
    assert first["DTHDT"] == "" and pd.isna(adsl["DTHDT"])
    cyrillic = frames["adae"]["AETERM"].dropna().map(lambda s: any("\u0400" <= ch <= "\u04ff" for ch in s))
    assert cyrillic.any()
    assert frames["adae"]["AETERM"][cyrillic].iloc[0] in (refresh_exports / "adae.csv").read_text(encoding="utf-8")


def test_write_exports_replaces_files_and_removes_only_its_own_stale_ones(sample_warehouse, tmp_path):
    out = tmp_path / "exports"
    first = write_exports(sample_warehouse, out)
    assert first.folder == out and first.removed == ()
    assert {"adsl.xpt", "adeff.xpt", "adae.xpt", "adsl.parquet", "extract_log.csv"} <= set(first.files)

    # An earlier export of a table that has since left marts, a statistician's own file, a partial file.
    (out / "old_table.csv").write_text("A\n1\n", encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["old_table.csv"] = 1
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / "my_notes.csv").write_text("mine\n", encoding="utf-8")
    (out / ".adsl.csv.partial-0123").write_text("half", encoding="utf-8")
    (out / "adsl.csv").write_text("stale\n", encoding="utf-8")

    second = write_exports(sample_warehouse, out)
    assert second.removed == ("old_table.csv",) and second.files == first.files
    assert sorted(p.name for p in out.iterdir()) == sorted([*first.files, "manifest.json", "my_notes.csv"])
    assert (out / "adsl.csv").read_text(encoding="utf-8").startswith("STUDYID,USUBJID")


def test_atomic_file_leaves_the_target_alone_when_writing_fails(tmp_path):
    target = tmp_path / "adsl.csv"
    target.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as partial:
            partial.write_text("half a fi", encoding="utf-8")
            raise RuntimeError("killed")
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["adsl.csv"]


def test_labels_csv_labels_every_column_of_the_three_datasets(marts):
    frames, _ = marts
    variables = load_variables()
    assert set(variables) == set(XPT_DATASETS)
    for table in XPT_DATASETS:
        assert list(variables[table]) == list(frames[table].columns), f"{LABELS_CSV.name}: {table} rows in column order"
        check_xpt_frame(table, frames[table].head(0), variables[table])
    assert variables["adsl"]["USUBJID"].label == "Unique Subject Identifier"
    assert variables["adsl"]["TRTSDT"].label == "Date of First Exposure to Treatment"
    assert variables["adeff"]["AVAL"].label == "Analysis Value"
    assert variables["adsl"]["ETIOLCONF"].name == "ETIOLCNF", "a contract name over 8 characters gets an XPT name"


def test_the_xpt_check_names_the_dataset_and_every_offending_column():
    frame = pd.DataFrame({
        "USUBJID": ["S1"], "NOLABEL": ["x"], "LONGNAME9": [1.0], "LONGLBL": ["y"], "AETERM": ["Ж" * 101],
    })
    variables = {
        "USUBJID": XptVariable("USUBJID", "Unique Subject Identifier"),
        "LONGNAME9": XptVariable("LONGNAME9", "Fine label"),
        "LONGLBL": XptVariable("LONGLBL", "L" * 41),
        "AETERM": XptVariable("AETERM", "Reported Term for the Adverse Event"),
    }
    with pytest.raises(XptLimitError) as raised:
        check_xpt_frame("adae", frame, variables)
    message = str(raised.value)
    assert message.startswith("adae: ")
    assert "NOLABEL: no label in variable_labels.csv" in message
    assert "LONGNAME9: name 'LONGNAME9' is not a SAS name of at most 8 characters" in message
    assert "LONGLBL: label" in message and "longer than 40 bytes" in message
    assert "AETERM: a value of 202 bytes" in message
    assert "USUBJID" not in message

    check_xpt_frame("adae", frame[["USUBJID"]], variables)  # a frame within the limits passes


def test_definitions_hold_the_exports_asset_after_publication(dbt_manifest):
    import dagster as dg

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("warehouse_exports"))
    assert node.parent_keys == {dg.AssetKey("published_warehouse")}
    assert node.group_name == "report"
    assert "warehouse_exports" in {n.name for n in defs.resolve_job_def("nightly_refresh").nodes_in_topological_order}


def test_xpt_numbers_read_back_exactly_and_text_keeps_its_bytes(tmp_path):
    # IBM doubles: zero, signs, every base-16 exponent shift, tiny and huge values, missing
    numbers = [0.0, -0.0, 1.0, -1.5, 0.1, 1 / 3, 2.0**-200, -(2.0**200), 1e-70, 1e70, 123456789.123, None]
    texts = ["Боль в груди", "", None, "x" * 200, "  leading", "A"] + [""] * 6
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.tiny (N DOUBLE, T VARCHAR, D DATE)")
    con.executemany("INSERT INTO marts.tiny VALUES (?, ?, DATE '2020-03-18')", list(zip(numbers, texts)))
    variables = {"N": XptVariable("N", "A number"), "T": XptVariable("T", "A text"), "D": XptVariable("D", "A date")}
    plan = plan_dataset(con, "tiny")
    assert [c.width for c in plan.columns] == [None, 200, None]
    assert write_xpt(con, plan, variables, tmp_path / "tiny.xpt") == len(numbers)
    assert (tmp_path / "tiny.xpt").stat().st_size % 80 == 0

    frame, meta = pyreadstat.read_xport(str(tmp_path / "tiny.xpt"))
    assert meta.table_name == "TINY" and meta.column_names_to_labels == {"N": "A number", "T": "A text", "D": "A date"}
    got = frame["N"].tolist()
    assert got[:-1] == numbers[:-1] and np.isnan(got[-1])
    assert frame["T"].tolist() == [t or "" for t in texts]
    assert frame["D"].tolist() == [dt.date(2020, 3, 18)] * len(numbers)


@pytest.mark.parametrize("table", sorted(ROW_ORDER))
def test_exports_sort_a_mart_as_its_model_does(table, sample_warehouse):
    """A full build leaves each mart in its model's ORDER BY; the exports sort by the same keys
    (an incremental build appends a changed site's rows at the end)."""
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        as_built = con.execute(f'SELECT * FROM marts."{table}"').fetchall()
        assert len(as_built) > 1
        assert con.execute(ordered(f'SELECT * FROM marts."{table}"', table)).fetchall() == as_built
