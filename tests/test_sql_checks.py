"""The DuckDB engine against GX's pandas engine on a table of edge cases.

Missing values (NULL, NaN), row conditions over missing values, `mostly`, each `ignore_row_if`,
duplicated keys with NULLs, strict bounds, regex searches, values of another type than the
column's, column types and column sets (matched, extra, missing, a column the table lacks): every expectation must give the same success, counts and first failing rows with both.
"""

import json
import sys

import duckdb
import pytest

import processes
from conftest import REPO_ROOT
from orchestration.quality import validate_layer
from orchestration.quality.schema_checks import SCHEMA_TYPES
from orchestration.quality.sql_checks import SQL_TYPES

ROWS = [
    # ID, TXT, NUM, FLAG, A, B, K1, K2, CODE, GRP
    (1, "a", 1.0, True, 2.0, 1.0, "x", 1, "2023-01-02", "G1"),
    (2, "a", None, False, 1.0, 1.0, "x", 1, "2023-01", "G1"),
    (3, "b", float("nan"), None, None, 1.0, "x", None, "", "G1"),
    (4, None, 5.0, True, None, None, "x", None, "20230102", "G2"),
    (5, "c", 10.0, True, 1.0, None, None, None, None, "G2"),
    (6, "c", 10.0, False, 0.5, 2.0, None, None, "x2023-01-02y", None),
    (7, "", -1.0, True, 3.0, 3.0, "y", 2, "2023-13-40", "G2"),
    (8, "d", 2.5, True, float("nan"), 1.0, "y", 3, "2023-01-02T10:00", None),
]


def _expect(kind, severity="critical", **kwargs):
    return {"type": kind, "kwargs": kwargs, "meta": {"description": kind}, "severity": severity}


def _equal_to(column, value):
    return {"type": "comparison", "column": {"name": column}, "operator": "==", "parameter": value}


EXPECTATIONS = [
    _expect("expect_column_values_to_not_be_null", column="TXT"),
    _expect("expect_column_values_to_not_be_null", column="NUM"),
    _expect("expect_column_values_to_not_be_null", column="NUM", mostly=0.7),
    _expect("expect_column_values_to_not_be_null", column="TXT", row_condition=_equal_to("FLAG", True)),
    _expect("expect_column_values_to_be_null", column="K2", row_condition=_equal_to("GRP", "G2")),
    _expect("expect_column_values_to_be_in_set", column="TXT", value_set=["a", "b", "c"]),
    _expect("expect_column_values_to_be_in_set", column="TXT", value_set=["a", "b", "c", "d", ""], mostly=0.5),
    _expect("expect_column_values_to_be_in_set", column="FLAG", value_set=[True]),
    _expect("expect_column_values_to_be_in_set", column="K2", value_set=[1, 2]),
    _expect("expect_column_values_to_be_in_set", column="K2", value_set=["1", "2"]),
    _expect("expect_column_values_to_not_be_in_set", column="TXT", value_set=["c"]),
    _expect("expect_column_values_to_be_between", column="NUM", min_value=0.0, max_value=10.0),
    _expect("expect_column_values_to_be_between", column="NUM", min_value=1.0, max_value=10.0, strict_max=True),
    _expect("expect_column_values_to_be_between", column="NUM", min_value=1, strict_min=True,
            row_condition=_equal_to("GRP", "G2")),
    _expect("expect_column_values_to_match_regex", column="CODE", regex=r"^\d{4}-\d{2}-\d{2}$"),
    _expect("expect_column_values_to_match_regex", column="CODE", regex=r"\d{4}-\d{2}"),
    _expect("expect_column_values_to_match_regex", column="TXT", regex=r"^[a-c]$"),
    _expect("expect_column_pair_values_to_be_equal", column_A="A", column_B="B"),
    _expect("expect_column_pair_values_to_be_equal", column_A="A", column_B="B", ignore_row_if="either_value_is_missing"),
    _expect("expect_column_pair_values_a_to_be_greater_than_b", column_A="A", column_B="B", or_equal=True,
            ignore_row_if="either_value_is_missing"),
    _expect("expect_column_pair_values_a_to_be_greater_than_b", column_A="A", column_B="B",
            ignore_row_if="either_value_is_missing", row_condition=_equal_to("GRP", "G1")),
    _expect("expect_column_pair_values_to_be_in_set", column_A="K1", column_B="TXT",
            value_pairs_set=[["x", "a"], ["x", "b"], ["y", ""]]),
    _expect("expect_column_values_to_be_unique", column="TXT"),
    _expect("expect_column_values_to_be_unique", column="NUM", row_condition=_equal_to("FLAG", True)),
    _expect("expect_compound_columns_to_be_unique", column_list=["K1", "K2"]),
    _expect("expect_compound_columns_to_be_unique", column_list=["K1", "K2"], ignore_row_if="any_value_is_missing"),
    _expect("expect_compound_columns_to_be_unique", column_list=["K1", "K2"], ignore_row_if="never"),
    _expect("expect_compound_columns_to_be_unique", column_list=["K1", "GRP"],
            row_condition={"type": "and", "conditions": [
                _equal_to("FLAG", True), {"type": "nullity", "column": {"name": "K2"}, "is_null": False}]}),
    _expect("expect_column_values_to_not_be_null", column="K2",
            row_condition={"type": "comparison", "column": {"name": "GRP"}, "operator": "IN", "parameter": ["G1", "G3"]}),
    _expect("expect_column_values_to_be_in_set", column="TXT", value_set=["a"],
            row_condition={"type": "comparison", "column": {"name": "NUM"}, "operator": "<", "parameter": 2}),
    _expect("expect_table_row_count_to_be_between", min_value=9),
    _expect("expect_table_row_count_to_be_between", min_value=1, max_value=8),
    _expect("expect_column_distinct_values_to_contain_set", column="GRP", value_set=["G1", "G3"]),
    _expect("expect_column_distinct_values_to_contain_set", column="GRP", value_set=["G1"]),
    _expect("expect_column_type_to_be", column="K2", type_="Int32"),
    _expect("expect_column_type_to_be", column="TXT", type_="float64"),
    _expect("expect_column_type_to_be", column="TXT", type_="str"),
    _expect("expect_column_type_to_be", column="FLAG", type_="boolean"),
    _expect("expect_column_type_to_be", column="NUM", type_="float"),
    _expect("expect_column_type_to_be", column="ID", type_="int32"),
    _expect("expect_column_type_to_be", column="NOPE", type_="str"),
    _expect("expect_table_columns_to_match_set", column_set=["ID", "TXT"], exact_match=False),
    _expect("expect_table_columns_to_match_set", column_set=["ID", "TXT", "NOPE", "ALSO"], exact_match=False),
    _expect("expect_table_columns_to_match_set", column_set=["ID", "TXT"]),
    _expect("expect_table_columns_to_match_set",
            column_set=["ID", "TXT", "NUM", "FLAG", "A", "B", "K1", "K2", "CODE", "GRP"], exact_match=True),
]


@pytest.fixture(scope="module")
def edge_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edge")
    database = folder / "edge.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(
            "CREATE TABLE edge (ID INTEGER, TXT VARCHAR, NUM DOUBLE, FLAG BOOLEAN, A DOUBLE, B DOUBLE, "
            "K1 VARCHAR, K2 INTEGER, CODE VARCHAR, GRP VARCHAR)"
        )
        con.executemany("INSERT INTO edge VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    suites = folder / "expectations" / "marts"
    suites.mkdir(parents=True)
    (suites / "edge.json").write_text(json.dumps({
        "name": "marts.edge",
        "meta": {"table": "main.edge", "batch_query": "select * from edge order by ID", "id_columns": ["ID"]},
        "expectations": EXPECTATIONS,
    }))
    return database, folder / "expectations"


def _outcomes(report):
    return [(o.expectation, o.success, o.element_count, o.unexpected_count, o.failing_rows) for o in report.outcomes]


def test_every_row_level_and_schema_type_of_the_suites_is_in_the_edge_cases():
    from orchestration.quality import EXPECTATIONS_DIR

    used = {e["type"] for path in EXPECTATIONS_DIR.glob("*/*.json") for e in json.loads(path.read_text())["expectations"]}
    assert used & {*SQL_TYPES, *SCHEMA_TYPES} <= {e["type"] for e in EXPECTATIONS}


def test_duckdb_engine_equals_gx_on_pandas_on_edge_cases(edge_cases):
    database, expectations_dir = edge_cases
    with duckdb.connect(str(database), read_only=True) as con:
        in_duckdb = validate_layer(con, "marts", expectations_dir=expectations_dir)
        by_gx = validate_layer(con, "marts", expectations_dir=expectations_dir, engine="pandas")
    for mine, theirs in zip(_outcomes(in_duckdb), _outcomes(by_gx), strict=True):
        assert mine == theirs
    failed = [o for o in in_duckdb.outcomes if not o.success]
    assert len(failed) >= 20, [o.describe() for o in failed]  # the cases are not vacuous


def test_duckdb_engine_counts_by_hand(edge_cases):
    database, expectations_dir = edge_cases
    with duckdb.connect(str(database), read_only=True) as con:
        report = validate_layer(con, "marts", expectations_dir=expectations_dir)
    by_position = report.outcomes
    # NUM is missing in rows 2 (NULL) and 3 (NaN)
    assert (by_position[1].success, by_position[1].unexpected_count) == (False, 2)
    assert [row["ID"] for row in by_position[1].failing_rows] == [2, 3]
    # mostly 0.7: 6 of 8 present = 0.75
    assert by_position[2].success
    # TXT among rows 1..8: duplicates a (1, 2), c (5, 6); NULL (4) ignored
    assert (by_position[22].unexpected_count, [r["ID"] for r in by_position[22].failing_rows]) == (4, [1, 2, 5, 6])
    # (K1, K2): all missing in rows 5 and 6 (ignored); (x, 1) twice, (x, NULL) twice
    assert by_position[24].unexpected_count == 4
    # never: the two (NULL, NULL) rows are duplicates too
    assert by_position[26].unexpected_count == 6
    # column types: the batch's dtypes (text `str`, integers nullable); a column the table lacks is GX's error
    assert [(o.success, o.failing_rows) for o in by_position[34:41]] == [
        (True, []), (False, [{"observed_value": "str"}]), (True, []), (True, []), (True, []),
        (False, [{"observed_value": "Int32"}]),
        (False, [{"error": 'Error: The column "NOPE" in BatchData does not exist.'}]),
    ]
    # column sets: extra columns pass without exact_match, missing ones fail; exact_match fails on extras
    assert [(o.success, o.failing_rows) for o in by_position[41:45]] == [
        (True, []), (False, [{"missing_columns": "ALSO, NOPE"}]), (False, [{"missing_columns": ""}]), (True, []),
    ]


def test_schema_checks_need_no_gx_import(edge_cases, tmp_path):
    """A gate's schema checks run without Great Expectations (seconds to import in a new process)."""
    database, _ = edge_cases
    suites = tmp_path / "marts"
    suites.mkdir()
    schema_only = [e for e in EXPECTATIONS if e["type"] in SCHEMA_TYPES and e["kwargs"].get("column") != "NOPE"]
    (suites / "edge.json").write_text(json.dumps({
        "name": "marts.edge",
        "meta": {"table": "main.edge", "batch_query": "select * from edge order by ID", "id_columns": ["ID"]},
        "expectations": schema_only,
    }))
    script = (
        "import sys, duckdb; from pathlib import Path; from orchestration.quality import validate_layer\n"
        f"con = duckdb.connect({str(database)!r}, read_only=True)\n"
        f"report = validate_layer(con, 'marts', expectations_dir=Path({str(tmp_path)!r}))\n"
        "print(len(report.outcomes), sum(o.success for o in report.outcomes), 'great_expectations' in sys.modules)\n"
    )
    result = processes.run([sys.executable, "-c", script], timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(schema_only)), "6", "False"]
