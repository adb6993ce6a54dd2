"""Every contract table and column exists in the sample warehouse with the contract's type, and
the README's analyst queries run on it."""

import re
import duckdb
import pytest

from conftest import REPO_ROOT
from contract import DATA_TYPES, MARTS, type_matches
from orchestration import dts
from orchestration.dbt_manifest import model_columns


@pytest.fixture
def sample(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        yield con


@pytest.mark.parametrize("table", sorted(MARTS))
def test_contract_table_has_every_column_with_its_type(sample, table):
    actual = dict(sample.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ?",
        [table],
    ).fetchall())
    assert actual, f"marts.{table} is missing"
    expected = MARTS[table]
    missing = [c for c in expected if c not in actual]
    assert not missing, f"marts.{table} lacks {missing}"
    wrong = {c: actual[c] for c, family in expected.items() if not type_matches(family, actual[c])}
    assert not wrong, f"marts.{table} columns of the wrong type: {wrong}"
    assert list(actual)[: len(expected)] == list(expected), "contract columns come first, in the contract's order"
    assert {c: actual[c] for c in expected} == DATA_TYPES[table], "each column has its model's data_type exactly"


PUBLISHED_MODELS = sorted(t for t in model_columns() if t.split(".")[0] in ("marts", "sdtm", "adam"))


@pytest.mark.parametrize("table", PUBLISHED_MODELS)
def test_published_table_has_its_models_columns_and_data_types(sample, table):
    """The yml's columns and data_types are the built table's: dbt enforces them on the SQL models
    (contract), not on the Python model marts.efficacy_summary, which this checks too."""
    schema, name = table.split(".")
    actual = sample.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    assert actual == [(c, entry.get("data_type")) for c, entry in model_columns()[table].items()]


def readme_queries() -> list[tuple[str, str]]:
    """(title, SQL) of each analyst query in README.md's 'Analyst queries' section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Analyst queries", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"\*\*(.+?)\*\*\s*\n+```sql\n(.+?)```", section, flags=re.S)


def test_readme_has_five_analyst_queries():
    assert len(readme_queries()) >= 5


@pytest.mark.parametrize("title, sql", readme_queries(), ids=[t for t, _ in readme_queries()])
def test_analyst_query_runs_on_the_sample(sample, title, sql):
    rows = sample.execute(sql).fetchall()
    assert rows, f"{title}: no rows on the sample"


@pytest.mark.parametrize("file", dts.DTS_FILES)
def test_history_table_has_key_file_columns_and_validity(sample, file):
    """history.<file>: SITEID, RECID, the file's columns, VALID_FROM / VALID_TO (extract ids)."""
    columns = [c for (c,) in sample.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'history' AND table_name = ? "
        "ORDER BY ordinal_position",
        [file],
    ).fetchall()]
    file_columns = [c for c in dts.REQUIRED_COLUMNS[file] if c != "RECID"]
    assert columns[: len(file_columns) + 4] == ["SITEID", "RECID", *file_columns, "VALID_FROM", "VALID_TO"]
    open_versions, closed_versions = sample.execute(
        f"SELECT count(*) FILTER (WHERE VALID_TO IS NULL), count(*) FILTER (WHERE VALID_TO IS NOT NULL) FROM history.{file}"
    ).fetchone()
    assert open_versions > 0
    if file in ("echo", "dm", "ae"):  # the sample corrects or deletes records of these files
        assert closed_versions > 0
