"""Exports for statisticians: marts as Parquet and CSV, the ADaM datasets as SAS transport v5."""

import csv
import datetime as dt
import json
import logging
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from orchestration.exports import write_exports
from orchestration.exports.files import atomic_file
from orchestration.exports.labels import XptVariable, load_variables
from orchestration.exports.row_order import ROW_ORDER, ordered
from orchestration.exports.xpt import (
    SET_MISSING, TRUNCATED, XPT_DATASETS, XptAdjustment, XptLimitError, XptWritten, check_xpt_columns, plan_dataset,
    write_xpt,
)
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
    assert manifest["xpt_adjustments"] == [], "every value of the sample fits XPT v5"
    assert "publication" in manifest
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
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["publication"] is None and manifest["xpt_adjustments"] == [] and second.xpt_adjustments == ()
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


def test_the_marts_yml_labels_every_column_of_the_three_datasets(marts):
    frames, _ = marts
    variables = load_variables()
    assert set(variables) == set(XPT_DATASETS)
    for table in XPT_DATASETS:
        assert list(variables[table]) == list(frames[table].columns), f"{table}: labelled columns in the mart's order"
        check_xpt_columns(table, list(frames[table].columns), variables[table])
    assert variables["adsl"]["USUBJID"].label == "Unique Subject Identifier"
    assert variables["adsl"]["TRTSDT"].label == "Date of First Exposure to Treatment"
    assert variables["adeff"]["AVAL"].label == "Analysis Value"
    assert variables["adsl"]["ETIOLCONF"].name == "ETIOLCNF", "a contract name over 8 characters gets an XPT name"


def test_the_xpt_check_names_the_dataset_and_every_offending_column():
    columns = ["USUBJID", "NOLABEL", "LONGNAME9", "LONGLBL", "AETERM"]
    variables = {
        "USUBJID": XptVariable("USUBJID", "Unique Subject Identifier"),
        "LONGNAME9": XptVariable("LONGNAME9", "Fine label"),
        "LONGLBL": XptVariable("LONGLBL", "L" * 41),
        "AETERM": XptVariable("AETERM", "Reported Term for the Adverse Event"),
    }
    with pytest.raises(XptLimitError) as raised:
        check_xpt_columns("adae", columns, variables)
    message = str(raised.value)
    assert message.startswith("adae: ")
    assert "NOLABEL: no label (config.meta.label in its model's yml)" in message
    assert "LONGNAME9: name 'LONGNAME9' is not a SAS name of at most 8 characters" in message
    assert "LONGLBL: label" in message and "longer than 40 bytes" in message
    assert "USUBJID" not in message and "AETERM" not in message

    check_xpt_columns("adae", ["USUBJID", "AETERM"], variables)  # columns within the limits pass


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
    assert write_xpt(con, plan, variables, tmp_path / "tiny.xpt") == XptWritten(len(numbers), ())
    assert (tmp_path / "tiny.xpt").stat().st_size % 80 == 0

    frame, meta = pyreadstat.read_xport(str(tmp_path / "tiny.xpt"))
    assert meta.table_name == "TINY" and meta.column_names_to_labels == {"N": "A number", "T": "A text", "D": "A date"}
    got = frame["N"].tolist()
    assert got[:-1] == numbers[:-1] and np.isnan(got[-1])
    assert frame["T"].tolist() == [t or "" for t in texts]
    assert frame["D"].tolist() == [dt.date(2020, 3, 18)] * len(numbers)


# (value, what XPT v5 holds of it): over 200 bytes, the longest prefix of whole characters within 200 bytes.
CUT_TEXTS = [
    ("Ж" * 124, "Ж" * 100),  # 248 bytes; 100 two-byte letters are 200
    ("a" * 199 + "Ж", "a" * 199),  # 201 bytes: the letter would end at byte 201, so it goes whole
    ("b" * 198 + "€", "b" * 198),  # 201 bytes: the euro sign's 3 bytes (199-201) straddle the limit
    ("c" * 199 + "€", "c" * 199),  # 202 bytes: the euro sign starts at byte 200
]
WHOLE_TEXTS = ["x" * 200, "Ж" * 100, "d" * 197 + "€", "Боль в груди", "", None]  # 200, 200, 200 bytes, ...


def test_xpt_cuts_text_over_200_bytes_before_the_character_that_does_not_fit(tmp_path):
    texts = [value for value, _ in CUT_TEXTS] + WHOLE_TEXTS
    assert [len(t.encode("utf-8")) for t in texts[:7]] == [248, 201, 201, 202, 200, 200, 200]
    con = _tiny_mart(tmp_path / "tiny.duckdb", "T VARCHAR, N DOUBLE, U VARCHAR",
                     [(text, float(i), f"u{i}") for i, text in enumerate(texts)])
    variables = {c: XptVariable(c, f"Column {c}") for c in ("T", "N", "U")}
    plan = plan_dataset(con, "tiny")
    assert [c.width for c in plan.columns] == [200, None, 2]
    written = write_xpt(con, plan, variables, tmp_path / "tiny.xpt")
    assert written == XptWritten(len(texts), (XptAdjustment("tiny", "T", "T", TRUNCATED, 4),))
    assert TRUNCATED == "truncated to 200 bytes"

    expected = [cut for _, cut in CUT_TEXTS] + [t or "" for t in WHOLE_TEXTS]
    # Every record is T's 200 bytes, N's 8 and U's 2, each text blank-padded to its column's width.
    data = (tmp_path / "tiny.xpt").read_bytes()
    observations = data[data.index(b"HEADER RECORD*******OBS     ") + 80:]
    assert len(observations) == -(-len(texts) * 210 // 80) * 80
    for i, text in enumerate(expected):
        record = observations[i * 210:(i + 1) * 210]
        assert record[:200] == text.encode("utf-8").ljust(200, b" "), i
        assert record[208:] == f"u{i}".encode("ascii"), i

    frame, _ = pyreadstat.read_xport(str(tmp_path / "tiny.xpt"))
    assert frame["T"].tolist() == expected
    assert frame["N"].tolist() == [float(i) for i in range(len(texts))]
    assert frame["U"].tolist() == [f"u{i}" for i in range(len(texts))]


def test_xpt_writes_a_number_outside_the_ibm_range_as_missing(tmp_path):
    # The IBM double's range is 16**-65 <= |x| < 16**63, i.e. 2**-260 <= |x| < 2**252.
    largest, smallest = 2.0**252 * (1 - 2.0**-53), 2.0**-260
    numbers = [1.5, math.inf, -math.inf, 1e300, -1e300, 1e-300, 2.0**252, largest, -smallest, None]
    held = [1.5, None, None, None, None, None, None, largest, -smallest, None]
    dates = ["2020-03-18", "infinity", None] + ["2020-03-18"] * 7
    con = _tiny_mart(tmp_path / "tiny.duckdb", "N DOUBLE, D DATE", list(zip(numbers, dates)))
    variables = {"N": XptVariable("N", "A number"), "D": XptVariable("D", "A date")}
    written = write_xpt(con, plan_dataset(con, "tiny"), variables, tmp_path / "tiny.xpt")
    assert written == XptWritten(len(numbers), (
        XptAdjustment("tiny", "N", "N", SET_MISSING, 6), XptAdjustment("tiny", "D", "D", SET_MISSING, 1),
    ))

    frame, _ = pyreadstat.read_xport(str(tmp_path / "tiny.xpt"))
    assert [None if np.isnan(v) else v for v in frame["N"]] == held
    assert [_as_date(v) for v in frame["D"]] == [dt.date(2020, 3, 18), None, None] + [dt.date(2020, 3, 18)] * 7


def _tiny_mart(path: Path, columns: str, rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A DuckDB file whose schema marts holds one table, `tiny`, with `rows` in that order."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute(f"CREATE TABLE marts.tiny ({columns})")
    con.executemany(f"INSERT INTO marts.tiny VALUES ({', '.join('?' * len(rows[0]))})", rows)
    return con


LONG_TERM = "Ж" * 124  # 248 bytes


@pytest.fixture
def unholdable_published(sample_warehouse, tmp_path) -> Path:
    """A published file of three rows of each XPT dataset of the sample, with values XPT v5 cannot
    hold: one AETERM of 248 bytes, two AVAL (infinity, 1e300)."""
    published = tmp_path / "published.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute(f"ATTACH '{sample_warehouse}' AS sample (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        for table in XPT_DATASETS:
            con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM sample.marts.{table} LIMIT 3")
        con.execute("DETACH sample")
        con.execute("UPDATE marts.adae SET AETERM = CASE rowid WHEN 0 THEN ? ELSE 'Headache' END", [LONG_TERM])
        con.execute("UPDATE marts.adeff SET AVAL = CASE rowid WHEN 0 THEN 'infinity' WHEN 1 THEN 1e300 ELSE 2.5 END")
    return published


def test_write_exports_lists_what_xpt_cannot_hold_and_keeps_it_whole_in_csv_and_parquet(unholdable_published, tmp_path):
    out = tmp_path / "exports"
    exports = write_exports(unholdable_published, out, publication="20240501T020000Z")
    assert exports.files == {f"{t}.{ext}": 3 for t in XPT_DATASETS for ext in ("parquet", "csv", "xpt")}
    assert exports.xpt_adjustments == (
        XptAdjustment("adae", "AETERM", "AETERM", TRUNCATED, 1), XptAdjustment("adeff", "AVAL", "AVAL", SET_MISSING, 2),
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warehouse"] == str(unholdable_published) and manifest["files"] == exports.files
    assert manifest["publication"] == "20240501T020000Z"
    assert manifest["xpt_adjustments"] == [
        {"file": "adae.xpt", "column": "AETERM", "variable": "AETERM", "rule": "truncated to 200 bytes", "values": 1},
        {"file": "adeff.xpt", "column": "AVAL", "variable": "AVAL", "rule": SET_MISSING, "values": 2},
    ]

    adae, _ = pyreadstat.read_xport(str(out / "adae.xpt"))
    assert sorted(adae["AETERM"]) == sorted(["Ж" * 100, "Headache", "Headache"])
    adeff, _ = pyreadstat.read_xport(str(out / "adeff.xpt"))
    assert int(adeff["AVAL"].isna().sum()) == 2 and adeff["AVAL"].dropna().tolist() == [2.5]
    with duckdb.connect() as con:
        parquet, csv_path = out / "adae.parquet", out / "adae.csv"
        for source in (f"read_parquet('{parquet}')", f"read_csv('{csv_path}', header = true)"):
            terms = sorted(term for (term,) in con.execute(f"SELECT AETERM FROM {source}").fetchall())
            assert terms == sorted([LONG_TERM, "Headache", "Headache"]), source
        parquet, csv_path = out / "adeff.parquet", out / "adeff.csv"
        values = con.execute(f"SELECT AVAL FROM read_parquet('{parquet}')").fetchall()
        assert sorted(value for (value,) in values) == [2.5, 1e300, math.inf]
        with csv_path.open(encoding="utf-8", newline="") as f:
            assert sorted(row["AVAL"] for row in csv.DictReader(f)) == ["1e+300", "2.5", "inf"]


def test_the_exports_asset_warns_of_each_adjustment_and_lists_them(unholdable_published, tmp_path):
    import dagster as dg

    from orchestration.defs.exports.assets import warehouse_exports
    from orchestration.defs.resources import WarehouseResource

    warehouse = WarehouseResource(landing_dir=str(tmp_path / "landing"), warehouse_path=str(unholdable_published))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([warehouse_exports], resources={"warehouse": warehouse}, instance=instance)
    assert result.success
    warnings = [
        entry.user_message for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING and not entry.is_dagster_event
    ]
    whole = "which XPT v5 cannot hold; the CSV and Parquet files keep them whole"
    assert warnings == [
        f"adae.xpt AETERM: 1 value(s) truncated to 200 bytes, {whole}",
        f"adeff.xpt AVAL: 2 value(s) set missing (infinite or outside the IBM double's range), {whole}",
    ]
    (materialization,) = result.asset_materializations_for_node("warehouse_exports")
    assert materialization.metadata["xpt_adjustments"].value == [
        {"file": "adae.xpt", "column": "AETERM", "variable": "AETERM", "rule": TRUNCATED, "values": 1},
        {"file": "adeff.xpt", "column": "AVAL", "variable": "AVAL", "rule": SET_MISSING, "values": 2},
    ]


@pytest.mark.parametrize("table", sorted(ROW_ORDER))
def test_exports_sort_a_mart_as_its_model_does(table, sample_warehouse):
    """A full build leaves each mart in its model's ORDER BY; the exports sort by the same keys
    (an incremental build appends a changed site's rows at the end)."""
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        as_built = con.execute(f'SELECT * FROM marts."{table}"').fetchall()
        assert len(as_built) > 1
        assert con.execute(ordered(f'SELECT * FROM marts."{table}"', table)).fetchall() == as_built


def test_queued_file_writes_every_byte_in_order_across_its_staging_buffer(tmp_path):
    """Direct writes go in whole staging buffers; the tail through the page cache; the file after
    `flush` may be edited at its end (as the Dataset-JSON writer drops the last row's comma)."""
    from orchestration.exports.queued_file import _STAGE_BYTES, QueuedFile

    rng = np.random.default_rng(7)
    pieces = [rng.integers(0, 256, size, dtype=np.uint8) for size in (1, 4095, _STAGE_BYTES - 4096, 3 * _STAGE_BYTES + 17, 5)]
    path = tmp_path / "queued.bin"
    out = QueuedFile(path)
    for piece in pieces:
        out.write(piece)
    written = out.flush()
    written.seek(-2, 2)
    written.truncate()
    written.write(b"!")
    out.write(b"end")
    out.close()
    expected = b"".join(p.tobytes() for p in pieces)
    assert path.read_bytes() == expected[:-2] + b"!end"
