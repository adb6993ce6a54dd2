"""The Great Expectations suites (expectations/<layer>/*.json) against the real sample warehouse.

Every layer passes on the sample; every suite fails, critically and naming the failing rows, on a copy
of the sample broken in one invariant (BREAKS); an empty adsl fails the marts layer; the HTML summary
is self-contained. The DuckDB engine (row-level expectations counted in SQL) gives what GX's pandas
engine gives on every layer, every broken table and a table of edge cases.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import contract
from conftest import build_database, run_dbt
from orchestration import dts
from orchestration.history import VERSION_COLUMNS
from orchestration.quality import (
    EXPECTATIONS_DIR,
    LAYERS,
    load_layer_suites,
    validate_layer,
    write_validation_summary,
)
from orchestration.quality import sql_checks
from orchestration.quality.batch import BATCH_TABLE, materialize_batch
from orchestration.warehouse import LOAD_COLUMNS

SITE = "KZ01"
LATEST = "20230315T020000Z"
SAMPLE_TRANSFERS = [(SITE, "20201215T020000Z"), (SITE, "20210915T020000Z"), (SITE, "20220615T020000Z"), (SITE, LATEST)]
SUITE_FILES = sorted(EXPECTATIONS_DIR.glob("*/*.json"))


def _usubjid(subjid):
    return f"NCT04325594-{SITE}-{subjid}"


MATERIALIZE = "materialize"


def _materialize(relation):
    """Make a staging model a table, so a test can break the model's output (models may be views)."""
    return [(MATERIALIZE, relation)]


@dataclass(frozen=True)
class Break:
    statements: list
    expectation: str  # the expectation id that must fail, critically
    row: dict  # what one of its failing rows must show


_LATEST_ROW = f"EXTRACT_ID = '{LATEST}' AND SOURCE_LINE"
ANALYSED = "where ROW_EXCLUDED == False"

# history: record 001-001 of every file has one open version (since the first transfer; echo's since
# the second), broken a different way in each file's history in turn.
_OPEN_VERSION = "RECID = '001-001' AND VALID_TO IS NULL"
_UNKNOWN_EXTRACT = "20991231T020000Z"


def _overlapping_version(domain):  # a later version starts while the open one stays open
    return Break(
        [f"INSERT INTO history.{domain} SELECT * REPLACE ('{LATEST}' AS VALID_FROM) FROM history.{domain} WHERE {_OPEN_VERSION}"],
        "expect_column_values_to_be_in_set(OVERLAPS_NEXT)",
        {"RECID": "001-001", "VALID_TO": None, "NEXT_VALID_FROM": LATEST, "OVERLAPS_NEXT": True},
    )


def _version_ending_where_it_starts(domain):
    return Break(
        [f"UPDATE history.{domain} SET VALID_TO = VALID_FROM WHERE {_OPEN_VERSION}"],
        "expect_column_values_to_be_in_set(VALID_TO_AFTER_VALID_FROM)",
        {"RECID": "001-001", "VALID_TO_AFTER_VALID_FROM": False},
    )


def _version_from_an_unknown_transfer(domain):
    return Break(
        [f"UPDATE history.{domain} SET VALID_FROM = '{_UNKNOWN_EXTRACT}' WHERE {_OPEN_VERSION}"],
        "expect_column_values_to_be_in_set(VALID_FROM_HISTORISED)",
        {"RECID": "001-001", "VALID_FROM": _UNKNOWN_EXTRACT},
    )


def _version_closed_by_an_unknown_transfer(domain):
    return Break(
        [f"UPDATE history.{domain} SET VALID_TO = '{_UNKNOWN_EXTRACT}' WHERE {_OPEN_VERSION}"],
        "expect_column_values_to_be_in_set(VALID_TO_HISTORISED)",
        {"RECID": "001-001", "VALID_TO": _UNKNOWN_EXTRACT},
    )


def _version_historised_twice(domain):
    return Break(
        [f"INSERT INTO history.{domain} SELECT * REPLACE (9999 AS SOURCE_LINE) FROM history.{domain} WHERE {_OPEN_VERSION}"],
        "expect_compound_columns_to_be_unique(SITEID, RECID, VALID_FROM)",
        {"RECID": "001-001", "SOURCE_LINE": 9999},
    )


def _version_column_dropped(domain):
    return Break(
        [f"ALTER TABLE history.{domain} DROP COLUMN ROW_HASH"],
        "expect_table_columns_to_match_set",
        {"missing_columns": "ROW_HASH"},
    )


_HISTORY_FILE_BREAKS = (
    _overlapping_version,
    _version_ending_where_it_starts,
    _version_from_an_unknown_transfer,
    _version_closed_by_an_unknown_transfer,
    _version_historised_twice,
    _version_column_dropped,
)


def _history_file_breaks():
    return {
        f"history.{domain}": _HISTORY_FILE_BREAKS[index % len(_HISTORY_FILE_BREAKS)](domain)
        for index, domain in enumerate(dts.DTS_FILES)
    }


# One broken invariant per suite: a suite nothing can break is a bug.
BREAKS = {
    # raw: the latest transfer is validated
    "raw.dm": Break(
        [f"INSERT INTO raw.dm SELECT * FROM raw.dm WHERE {_LATEST_ROW} = 2"],
        "expect_compound_columns_to_be_unique(SITEID, EXTRACT_ID, SOURCE_LINE)",
        {"EXTRACT_ID": LATEST, "SOURCE_LINE": 2, "RECID": "001-001"},
    ),
    "raw.ie": Break(
        [f"DELETE FROM raw.ie WHERE {_LATEST_ROW} = 3"],
        "expect_column_pair_values_to_be_equal(LOADED_ROWS, MANIFEST_ROWS)",
        {"EXTRACT_ID": LATEST, "LOADED_ROWS": 743, "MANIFEST_ROWS": 744},
    ),
    "raw.ex": Break(
        [f"UPDATE raw.ex SET SOURCE_FILE = 'ex_old.csv' WHERE {_LATEST_ROW} = 2"],
        "expect_column_values_to_be_in_set(SOURCE_FILE)",
        {"SOURCE_LINE": 2, "SOURCE_FILE": "ex_old.csv"},
    ),
    "raw.sv": Break(
        [f"INSERT INTO raw.sv SELECT * FROM raw.sv WHERE {_LATEST_ROW} = 10"],
        "expect_compound_columns_to_be_unique(SITEID, EXTRACT_ID, SOURCE_LINE)",
        {"SOURCE_LINE": 10},
    ),
    "raw.echo": Break(
        [f"UPDATE raw.echo SET SOURCE_LINE = 1 WHERE {_LATEST_ROW} = 2"],
        "expect_column_values_to_be_between(SOURCE_LINE)",
        {"SOURCE_LINE": 1, "RECID": "001-001"},
    ),
    "raw.ct": Break(
        ["ALTER TABLE raw.ct DROP COLUMN LOADED_AT"],
        "expect_table_columns_to_match_set",
        {"missing_columns": "LOADED_AT"},
    ),
    "raw.lb": Break(
        [f"INSERT INTO raw.lb SELECT * REPLACE (9999 AS SOURCE_LINE) FROM raw.lb WHERE {_LATEST_ROW} = 2"],
        "expect_column_pair_values_to_be_equal(LOADED_ROWS, MANIFEST_ROWS)",
        {"LOADED_ROWS": 658, "MANIFEST_ROWS": 657},
    ),
    "raw.fs": Break(
        [f"INSERT INTO raw.fs SELECT * FROM raw.fs WHERE {_LATEST_ROW} = 5"],
        "expect_compound_columns_to_be_unique(SITEID, EXTRACT_ID, SOURCE_LINE)",
        {"SOURCE_LINE": 5},
    ),
    "raw.qs": Break(
        [f"DELETE FROM raw.qs WHERE {_LATEST_ROW} BETWEEN 2 AND 11"],
        "expect_column_pair_values_to_be_equal(LOADED_ROWS, MANIFEST_ROWS)",
        {"LOADED_ROWS": 4120, "MANIFEST_ROWS": 4130},
    ),
    "raw.ae": Break(
        [f"INSERT INTO raw.ae SELECT * FROM raw.ae WHERE {_LATEST_ROW} = 2"],
        "expect_compound_columns_to_be_unique(SITEID, EXTRACT_ID, SOURCE_LINE)",
        {"SOURCE_LINE": 2, "SUBJID": "001"},
    ),
    "raw.ds": Break(  # two rows claim the same file line
        [f"UPDATE raw.ds SET SOURCE_LINE = 3 WHERE {_LATEST_ROW} = 2"],
        "expect_compound_columns_to_be_unique(SITEID, EXTRACT_ID, SOURCE_LINE)",
        {"SOURCE_LINE": 3, "RECID": "001-001"},
    ),
    "raw.transfer_log": Break(  # a file's rows never reached raw: no per-file suite can see that
        [f"DELETE FROM raw.ds WHERE EXTRACT_ID = '{LATEST}'"],
        "expect_column_pair_values_to_be_equal(LOADED_ROWS, MANIFEST_ROWS) where STATUS == 'LOADED'",
        {"EXTRACT_ID": LATEST, "SOURCE_FILE": "ds.csv", "LOADED_ROWS": 0, "MANIFEST_ROWS": 30},
    ),
    # history: the whole layer is validated
    **_history_file_breaks(),
    "history.transfers": Break(  # a loaded transfer whose records never reached history
        [f"DELETE FROM history.transfers WHERE EXTRACT_ID = '{LATEST}'"],
        "expect_column_values_to_be_in_set(HISTORISED)",
        {"SITEID": SITE, "EXTRACT_ID": LATEST, "HISTORISED": False},
    ),
    # staging: the model's output is replaced by a broken copy (a bug in the model)
    "staging.stg_edc__dm": Break(
        [*_materialize("staging.stg_edc__dm"),
         "INSERT INTO staging.stg_edc__dm SELECT * REPLACE (999 AS SOURCE_LINE) FROM staging.stg_edc__dm WHERE SOURCE_LINE = 2"],
        f"expect_column_values_to_be_unique(USUBJID) {ANALYSED}",
        {"USUBJID": _usubjid("001"), "SOURCE_LINE": 999},
    ),
    "staging.stg_edc__ie": Break(
        [*_materialize("staging.stg_edc__ie"),
         "INSERT INTO staging.stg_edc__ie SELECT * FROM staging.stg_edc__ie WHERE SOURCE_LINE = 3"],
        "expect_compound_columns_to_be_unique(SITEID, SOURCE_LINE)",
        {"SOURCE_LINE": 3, "RECID": "001-002"},
    ),
    "staging.stg_edc__ex": Break(
        [*_materialize("staging.stg_edc__ex"),
         "UPDATE staging.stg_edc__ex SET EXSTDTM = EXSTDTM + INTERVAL 1 DAY WHERE SOURCE_LINE = 2"],
        "expect_column_pair_values_to_be_equal(EXSTDTM_DATE, EXSTDT)",
        {"RECID": "001-001", "SOURCE_LINE": 2},
    ),
    "staging.stg_edc__sv": Break(
        [*_materialize("staging.stg_edc__sv"), "ALTER TABLE staging.stg_edc__sv ALTER SVSTDT TYPE VARCHAR"],
        "expect_column_type_to_be(SVSTDT)",
        {"observed_value": "str"},
    ),
    "staging.stg_edc__echo": Break(
        [*_materialize("staging.stg_edc__echo"), "UPDATE staging.stg_edc__echo SET LVEF = 300 WHERE RECID = '001-003'"],
        f"expect_column_pair_values_a_to_be_greater_than_b(LVEF_HIGH, LVEF) {ANALYSED}",
        {"RECID": "001-003", "USUBJID": _usubjid("001"), "LVEF": 300.0, "LVEF_HIGH": 80.0},
    ),
    "staging.stg_edc__ct": Break(
        [*_materialize("staging.stg_edc__ct"), "UPDATE staging.stg_edc__ct SET LVESV = LVEDV + 10 WHERE SOURCE_LINE = 2"],
        f"expect_column_pair_values_a_to_be_greater_than_b(LVEDV, LVESV) {ANALYSED}",
        {"RECID": "001-001", "SOURCE_LINE": 2},
    ),
    "staging.stg_edc__lb": Break(
        [*_materialize("staging.stg_edc__lb"), "UPDATE staging.stg_edc__lb SET LBSTRESU = 'pmol/L' WHERE SOURCE_LINE = 2"],
        "expect_column_values_to_be_in_set(LBSTRESU) where ROW_EXCLUDED == False AND LBTESTCD == 'NTPROBNP'",
        {"RECID": "001-001", "LBSTRESU": "pmol/L"},
    ),
    "staging.stg_edc__fs": Break(
        [*_materialize("staging.stg_edc__fs"), "UPDATE staging.stg_edc__fs SET ROW_EXCLUDED = NULL WHERE SOURCE_LINE = 2"],
        "expect_column_values_to_not_be_null(ROW_EXCLUDED)",
        {"SOURCE_LINE": 2, "ROW_EXCLUDED": None},
    ),
    "staging.stg_edc__qs": Break(
        [*_materialize("staging.stg_edc__qs"), "UPDATE staging.stg_edc__qs SET QSSTRESN = 9 WHERE SOURCE_LINE = 2"],
        f"expect_column_pair_values_a_to_be_greater_than_b(ITEM_HIGH, QSSTRESN) {ANALYSED}",
        {"SOURCE_LINE": 2, "QSTESTCD": "MLHFQ01", "QSSTRESN": 9.0, "ITEM_HIGH": 5.0},
    ),
    "staging.stg_edc__ae": Break(
        [*_materialize("staging.stg_edc__ae"),
         f"UPDATE staging.stg_edc__ae SET USUBJID = '{_usubjid('999')}', SUBJID = '999' WHERE SOURCE_LINE = 2"],
        "expect_column_values_to_be_in_set(SUBJECT_IN_DM)",
        {"USUBJID": _usubjid("999"), "SUBJID": "999"},
    ),
    "staging.stg_edc__ds": Break(
        [*_materialize("staging.stg_edc__ds"), "UPDATE staging.stg_edc__ds SET ROW_EXCLUDED = true WHERE SOURCE_LINE = 2"],
        "expect_column_values_to_be_between(N_ERROR_ISSUES) where ROW_EXCLUDED == True",
        {"SOURCE_LINE": 2, "N_ERROR_ISSUES": 0},
    ),
    "staging.stg_edc__latest_transfers": Break(
        [*_materialize("staging.stg_edc__latest_transfers"),
         "UPDATE staging.stg_edc__latest_transfers SET EXTRACT_ID = '20220615T020000Z'"],
        "expect_column_pair_values_to_be_equal(EXTRACT_ID, LATEST_LOADED_EXTRACT_ID)",
        {"SITEID": SITE, "EXTRACT_ID": "20220615T020000Z", "LATEST_LOADED_EXTRACT_ID": LATEST},
    ),
    # marts
    "marts.adsl": Break(
        [f"UPDATE marts.adsl SET BLVEF = BLVEF + 1 WHERE USUBJID = '{_usubjid('001')}'"],
        "expect_column_pair_values_to_be_equal(BLVEF, BLVEF_IN_ADEFF)",
        {"USUBJID": _usubjid("001")},
    ),
    "marts.adeff": Break(
        [f"UPDATE marts.adeff SET CHG = CHG + 1 WHERE USUBJID = '{_usubjid('001')}' AND PARAMCD = 'LVEFECHO' AND AVISITN = 6"],
        "expect_column_values_to_be_between(CHG_ERROR)",
        {"USUBJID": _usubjid("001"), "PARAMCD": "LVEFECHO", "AVISIT": "Month 6", "CHG": 11.0, "CHG_ERROR": 1.0},
    ),
    "marts.adae": Break(
        [f"UPDATE marts.adae SET USUBJID = '{_usubjid('999')}' WHERE USUBJID = '{_usubjid('001')}' AND SRCRECID = '001-001'"],
        "expect_column_values_to_be_in_set(IN_ADSL)",
        {"USUBJID": _usubjid("999"), "SRCRECID": "001-001"},
    ),
    "marts.subject_visits": Break(
        [f"DELETE FROM marts.subject_visits WHERE USUBJID = '{_usubjid('001')}' AND AVISITN = 6"],
        "expect_column_values_to_be_in_set(SUBJECT_ROWS)",
        {"USUBJID": _usubjid("001"), "SUBJECT_ROWS": 3},
    ),
    "marts.efficacy_summary": Break(
        ["UPDATE marts.efficacy_summary SET N = N + 1 WHERE PARAMCD = 'LVEFECHO' AND AVISITN = 6"],
        "expect_column_pair_values_to_be_equal(N, N_RECORDS)",
        {"PARAMCD": "LVEFECHO", "AVISIT": "Month 6", "N": 28, "N_RECORDS": 27},
    ),
    "marts.safety_summary": Break(
        ["UPDATE marts.safety_summary SET PCT_SUBJ = PCT_SUBJ + 1 WHERE PERIOD = 'OVERALL' AND LEVEL = 'ANY'"],
        "expect_column_values_to_be_between(PCT_SUBJ_ERROR)",
        {"PERIOD": "OVERALL", "LEVEL": "ANY", "N_SUBJ": 28},
    ),
    "marts.data_issues": Break(
        ["UPDATE marts.data_issues SET SRCDOM = 'echo.csv' WHERE RULE = 'implausible' AND FIELD = 'LVEF'"],
        "expect_column_values_to_be_in_set(SRCDOM)",
        {"SRCDOM": "echo.csv", "FIELD": "LVEF", "RULE": "implausible"},
    ),
    "marts.transfer_changes": Break(
        ["UPDATE marts.transfer_changes SET PREVIOUS_EXTRACT = '20201215T020000Z' WHERE SRCDOM = 'ae' AND RECID = '029-001'"],
        "expect_column_pair_values_to_be_equal(PREVIOUS_EXTRACT, SITE_PREVIOUS_EXTRACT)",
        {"RECID": "029-001", "PREVIOUS_EXTRACT": "20201215T020000Z"},
    ),
    "marts.extract_log": Break(
        [f"UPDATE marts.extract_log SET EXTRACT_ID = '2023-03-15' WHERE EXTRACT_ID = '{LATEST}'"],
        "expect_column_values_to_match_regex(EXTRACT_ID) where STATUS == 'LOADED'",
        {"SITEID": SITE, "EXTRACT_ID": "2023-03-15"},
    ),
}


@pytest.fixture(scope="module")
def sample_db(sample_build) -> Path:
    """The sample's build database (every layer), refreshed once for the session. Read-only here."""
    return sample_build


@pytest.fixture(scope="module")
def sample_reports(sample_db):
    with duckdb.connect(str(sample_db), read_only=True) as con:
        transfers = con.execute("SELECT SITEID, EXTRACT_ID FROM raw.transfer_log WHERE STATUS = 'LOADED' ORDER BY ALL").fetchall()
        assert transfers == SAMPLE_TRANSFERS
        return {
            layer: validate_layer(con, layer, new_transfers=transfers if layer == "raw" else None) for layer in LAYERS
        }


def _broken_copy(source: Path, target_dir: Path, statements) -> Path:
    copy = target_dir / source.name
    shutil.copyfile(source, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in statements:
            if isinstance(statement, tuple) and statement[0] == MATERIALIZE:
                _view_to_table(con, statement[1])
            else:
                con.execute(statement)
    return copy


def _view_to_table(con, relation):
    schema, name = relation.split(".")
    if con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ? AND database_name = current_database()",
        [schema, name],
    ).fetchone()[0]:
        con.execute(f"CREATE TABLE {schema}.gx_broken AS SELECT * FROM {relation}")
        con.execute(f"DROP VIEW {relation}")
        con.execute(f"ALTER TABLE {schema}.gx_broken RENAME TO {name}")


def _suite_report(report, name):
    (suite,) = [s for s in report.suites if s.name == name]
    return suite


def test_every_layer_passes_on_the_sample(sample_reports):
    for layer in LAYERS:
        report = sample_reports[layer]
        assert report.passed, "\n".join(o.describe() for o in report.critical_failures)
        assert {s.name for s in report.suites} == {d.name for d in load_layer_suites(layer)}
        assert all(s.row_count > 0 for s in report.suites), [(s.name, s.row_count) for s in report.suites]
        assert all(o.element_count is not None for o in report.outcomes)

    raw = sample_reports["raw"]
    assert raw.new_transfers == SAMPLE_TRANSFERS
    assert _suite_report(raw, "raw.transfer_log").row_count == 4 * len(dts.DTS_FILES)
    # the rows of all four transfers: 10 + 20 + 30 + 31 subjects (the screen failure 031 in T4 only)
    assert _suite_report(raw, "raw.dm").row_count == 91
    assert _suite_report(sample_reports["history"], "history.transfers").row_count == len(SAMPLE_TRANSFERS)
    assert _suite_report(sample_reports["staging"], "staging.stg_edc__dm").row_count == 31
    assert _suite_report(sample_reports["marts"], "marts.adsl").row_count == 31
    assert _suite_report(sample_reports["marts"], "marts.efficacy_summary").row_count == len(contract.PARAMCDS) * 4


def test_duckdb_engine_equals_gx_on_pandas_on_the_sample(sample_db, sample_reports):
    """Every expectation of every layer: the same success, counts and first failing rows."""
    with duckdb.connect(str(sample_db), read_only=True) as con:
        for layer in LAYERS:
            by_gx_on_pandas = validate_layer(
                con, layer, new_transfers=SAMPLE_TRANSFERS if layer == "raw" else None, engine="pandas"
            )
            assert _counts(sample_reports[layer]) == _counts(by_gx_on_pandas), layer


def test_sample_data_problems_are_warnings_with_their_rows(sample_reports):
    """The sample's deliberate data problems show as warnings naming the rows; none blocks."""
    warnings = {(o.suite, o.expectation): o for layer in LAYERS for o in sample_reports[layer].warnings}
    assert all(o.severity == "warning" for o in warnings.values())

    unknown = warnings[("raw.lb", "expect_column_values_to_be_in_set(SUBJID_IN_DM)")]
    assert unknown.unexpected_count == 3, "subject 032 has a lab result in three transfers but is in no dm.csv"
    assert {(r["EXTRACT_ID"], r["SUBJID"], r["RECID"]) for r in unknown.failing_rows} == {
        (extract, "032", "032-001") for _, extract in SAMPLE_TRANSFERS[1:]
    }

    no_time = warnings[("staging.stg_edc__ex", f"expect_column_values_to_not_be_null(EXSTDTM) {ANALYSED}")]
    assert [(r["USUBJID"], r["RECID"]) for r in no_time.failing_rows] == [(_usubjid("014"), "014-001")]

    no_month6 = warnings[("marts.adsl", "expect_column_values_to_be_in_set(HAS_MONTH6_LVEF)")]
    assert [(r["USUBJID"], r["EOSSTT"], r["DCSREAS"]) for r in no_month6.failing_rows] == [
        (_usubjid("005"), "COMPLETED", None),
        (_usubjid("006"), "DISCONTINUED", "DEATH"),
        (_usubjid("007"), "DISCONTINUED", "WITHDRAWAL BY SUBJECT"),
    ]
    assert "marts.adsl" in no_month6.describe() and "3 of 31 rows fail" in no_month6.describe()


def test_raw_validates_only_the_new_transfers(sample_db):
    with duckdb.connect(str(sample_db), read_only=True) as con:
        nothing = validate_layer(con, "raw", new_transfers=[])
        latest = validate_layer(con, "raw", new_transfers=[(SITE, LATEST)], suites=["raw.dm", "raw.transfer_log"])
    assert nothing.passed and nothing.suites == [] and nothing.outcomes == []
    assert latest.passed
    assert _suite_report(latest, "raw.dm").row_count == 31
    assert _suite_report(latest, "raw.transfer_log").row_count == len(dts.DTS_FILES)


def _counts(report):
    return {
        suite.name: (suite.row_count, [(o.expectation, o.success, o.element_count, o.unexpected_count, o.failing_rows)
                                       for o in suite.outcomes])
        for suite in report.suites
    }


def test_raw_validated_one_transfer_at_a_time_equals_all_at_once(sample_db, monkeypatch):
    from orchestration.quality import partitions

    with duckdb.connect(str(sample_db), read_only=True) as con:
        whole = validate_layer(con, "raw", new_transfers=SAMPLE_TRANSFERS, chunk_cells=10**12)
        # chunk_cells=1: every partition (transfer) of a batch query is its own DataFrame for GX
        chunked = validate_layer(con, "raw", new_transfers=SAMPLE_TRANSFERS, chunk_cells=1, engine="pandas")
        # RAW_GROUP_ROWS=1: every transfer is read by a batch query of its own
        monkeypatch.setattr(partitions, "RAW_GROUP_ROWS", 1)
        grouped = validate_layer(con, "raw", new_transfers=SAMPLE_TRANSFERS, chunk_cells=10**12)
    assert _counts(chunked) == _counts(whole)
    assert _counts(grouped) == _counts(whole)
    lb = {o.expectation: o for o in _suite_report(whole, "raw.lb").outcomes}
    assert [o for o in lb.values() if not o.success], "the sample's lb warning must show in both"
    assert _suite_report(chunked, "raw.dm").row_count == sum(
        n for (n,) in duckdb.connect(str(sample_db), read_only=True).execute(
            "SELECT count(*) FROM raw.dm GROUP BY EXTRACT_ID").fetchall()
    )


_SECOND_SITE = "KZ02"


def _with_a_second_site(domain_to_break):
    """The sample's history and transfers copied as site KZ02, whose open echo version 001-001 then
    overlaps a later one (KZ01 stays valid)."""
    copies = [
        f"INSERT INTO {table} SELECT * REPLACE ('{_SECOND_SITE}' AS SITEID) FROM {table} WHERE SITEID = '{SITE}'"
        for table in ["raw.transfer_log", "history.transfers", *(f"history.{d}" for d in dts.DTS_FILES)]
    ]
    return copies + [
        f"INSERT INTO history.{domain_to_break} SELECT * REPLACE ('{LATEST}' AS VALID_FROM) FROM history.{domain_to_break} "
        f"WHERE SITEID = '{_SECOND_SITE}' AND {_OPEN_VERSION}"
    ]


def test_a_site_scope_validates_that_site_only_and_chunks_add_up(sample_db, tmp_path):
    copy = _broken_copy(sample_db, tmp_path, _with_a_second_site("echo"))
    overlap = "expect_column_values_to_be_in_set(OVERLAPS_NEXT)"
    with duckdb.connect(str(copy), read_only=True) as con:
        kz01 = validate_layer(con, "history", sites=[SITE])
        kz02 = validate_layer(con, "history", sites=[_SECOND_SITE])
        nobody = validate_layer(con, "history", sites=["ZZ99"])
        whole = validate_layer(con, "history", chunk_cells=10**12)
        site_by_site = validate_layer(con, "history", chunk_cells=1, engine="pandas")
        one_site_rows = con.execute(f"SELECT count(*) FROM history.echo WHERE SITEID = '{SITE}'").fetchone()[0]

    assert kz01.passed, "\n".join(o.describe() for o in kz01.critical_failures)
    assert _suite_report(kz01, "history.echo").row_count == one_site_rows
    # history.transfers is partitioned too: each site's transfers, the 4 of the sample
    assert _suite_report(kz01, "history.transfers").row_count == 4

    (failure,) = [o for o in kz02.critical_failures if o.suite == "history.echo"]
    assert failure.expectation == overlap and failure.unexpected_count == 1
    assert {row["SITEID"] for row in failure.failing_rows} == {_SECOND_SITE}
    assert _suite_report(kz02, "history.echo").row_count == one_site_rows + 1

    # a site with no rows: nothing to validate, every expectation holds on no rows
    assert nobody.passed and all(s.row_count == 0 for s in nobody.suites)

    # two sites, validated whole or one site per DataFrame: the same counts and failing rows
    assert _counts(site_by_site) == _counts(whole)
    (whole_failure,) = [o for o in whole.critical_failures if o.suite == "history.echo"]
    assert (whole_failure.unexpected_count, whole_failure.element_count) == (1, 2 * one_site_rows + 1)
    assert whole_failure.failing_rows == failure.failing_rows


@pytest.mark.parametrize("layer", ["history", "staging", "marts"])
def test_a_site_scoped_batch_is_the_whole_batch_of_that_site(layer, sample_db, tmp_path):
    """A site scope filters each suite's own table inside its batch query (before its sorts and
    windows); the batch holds exactly the rows, values and order of the whole batch's site rows."""
    copy = _broken_copy(sample_db, tmp_path, _with_a_second_site("echo"))
    partitioned = [d for d in load_layer_suites(layer) if d.partition_by]
    assert partitioned
    with duckdb.connect(str(copy), read_only=True) as con:
        for definition in partitioned:
            for site in (SITE, _SECOND_SITE):
                rows = f"select * from {BATCH_TABLE} order by rowid"
                materialize_batch(con, definition, None, None)
                whole = [row for row in con.execute(rows).fetchall() if row[-1] in ("", site)]
                materialize_batch(con, definition, None, [site])
                assert con.execute(rows).fetchall() == whole, f"{definition.name}, site {site}"


@pytest.mark.parametrize("suite_file", SUITE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_suite_fails_on_a_broken_table(suite_file, sample_db, tmp_path):
    layer = suite_file.parent.name
    name = json.loads(suite_file.read_text())["name"]
    assert name in BREAKS, f"{name} has no break in BREAKS: a suite that cannot be broken is a bug"
    broken = BREAKS[name]
    copy = _broken_copy(sample_db, tmp_path, broken.statements)
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, layer, new_transfers=[(SITE, LATEST)], suites=[name])
        by_gx_on_pandas = validate_layer(con, layer, new_transfers=[(SITE, LATEST)], suites=[name], engine="pandas")
        # what ingestion checks before it commits a transfer: the critical row checks on a narrow batch
        as_ingestion_checks = validate_layer(
            con, layer, new_transfers=[(SITE, LATEST)], suites=[name], severities=("critical",), in_duckdb_only=True)

    assert _counts(report) == _counts(by_gx_on_pandas)
    def summary(outcome):
        return outcome.success, outcome.element_count, outcome.unexpected_count, outcome.failing_rows

    checked_by_ingestion = {o.expectation: summary(o) for suite in as_ingestion_checks.suites for o in suite.outcomes}
    critical_row_checks = {
        o.expectation: summary(o) for suite in report.suites for o in suite.outcomes
        if o.severity == "critical" and o.expectation.split("(")[0] in sql_checks.SQL_TYPES
    }
    assert checked_by_ingestion == critical_row_checks
    assert not report.passed
    failed = {o.expectation: o for o in report.critical_failures}
    assert broken.expectation in failed, sorted(failed)
    outcome = failed[broken.expectation]
    assert outcome.suite == name and outcome.severity == "critical" and not outcome.success
    assert outcome.failing_rows, outcome.describe()
    assert any(broken.row.items() <= row.items() for row in outcome.failing_rows), outcome.failing_rows
    line = outcome.describe()
    assert name in line and broken.expectation in line and "FAILED" in line
    if outcome.unexpected_count is not None:
        assert outcome.unexpected_count >= 1 and f"{outcome.unexpected_count} of" in line


def test_history_holds_only_loaded_transfers(sample_db, tmp_path):
    copy = _broken_copy(sample_db, tmp_path, [f"UPDATE raw.transfer_log SET STATUS = 'REJECTED' WHERE EXTRACT_ID = '{LATEST}'"])
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, "history", suites=["history.transfers"])
    (failure,) = report.critical_failures
    assert failure.expectation == "expect_column_values_to_be_in_set(LOADED_IN_RAW)"
    assert failure.failing_rows == [{"SITEID": SITE, "EXTRACT_ID": LATEST, "LOADED_IN_RAW": False}]


def test_raw_needs_no_reference_schema(sample_db, tmp_path):
    """The raw gate runs before dbt loads the seeds (a first refresh has no reference schema)."""
    copy = _broken_copy(sample_db, tmp_path, ["DROP SCHEMA reference CASCADE"])
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, "raw", new_transfers=[(SITE, LATEST)], suites=["raw.lb", "raw.qs", "raw.fs"])
    assert report.passed, [o.describe() for o in report.critical_failures]
    codes = [o for o in report.outcomes if o.expectation == "expect_column_values_to_be_in_set(NYHA_IN_CODE_LIST)"]
    assert codes and codes[0].success and codes[0].element_count == 118


def test_a_missing_dts_column_is_named(sample_db, tmp_path):
    """A DTS column gone from raw: the batch query itself cannot run, a critical failure naming it."""
    copy = _broken_copy(sample_db, tmp_path, ["ALTER TABLE raw.ds DROP COLUMN DSDECOD"])
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, "raw", new_transfers=[(SITE, LATEST)], suites=["raw.ds"])
    (failure,) = report.critical_failures
    assert failure.expectation == "batch_query" and "DSDECOD" in failure.failing_rows[0]["error"]


_ADEFF_BREAKS = [
    # a second baseline for subject 002's echo LVEF
    f"UPDATE marts.adeff SET ABLFL = 'Y' WHERE USUBJID = '{_usubjid('002')}' AND PARAMCD = 'LVEFECHO' AND AVISITN = 1",
    # an implausible analysed value
    f"UPDATE marts.adeff SET AVAL = 300, CHG = 300 - BASE WHERE USUBJID = '{_usubjid('002')}' AND PARAMCD = 'LVEFECHO' AND AVISITN = 3",
    # a repeated key
    f"INSERT INTO marts.adeff SELECT * FROM marts.adeff WHERE USUBJID = '{_usubjid('002')}' AND PARAMCD = 'NYHA' AND AVISITN = 6",
]


def test_adeff_range_invariant(sample_db, tmp_path):
    """The plausible range is the GX suite's (read from the parameter_catalog seed); the baseline
    and key invariants broken alongside are dbt tests (test_dbt_tests_own_the_models_row_invariants)."""
    subject = _usubjid("002")
    copy = _broken_copy(sample_db, tmp_path, _ADEFF_BREAKS)
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, "marts", suites=["marts.adeff"])
    failed = {o.expectation: o for o in report.critical_failures}
    implausible = failed["expect_column_pair_values_a_to_be_greater_than_b(PARAM_HIGH, AVAL)"]
    assert [(r["USUBJID"], r["PARAMCD"], r["AVAL"], r["PARAM_HIGH"]) for r in implausible.failing_rows] == [
        (subject, "LVEFECHO", 300.0, 80.0)
    ]


def test_dbt_tests_own_the_models_row_invariants(sample_warehouse, tmp_path):
    """Keys, flags and code values of the marts are dbt tests (no GX copy): each fails, with the
    number of offending rows (or duplicated keys) dbt reports."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(build_database(sample_warehouse), build_database(copy))
    with duckdb.connect(str(build_database(copy))) as con:
        for statement in [
            *_ADEFF_BREAKS,
            f"INSERT INTO marts.adsl SELECT * FROM marts.adsl WHERE USUBJID = '{_usubjid('001')}'",
            "INSERT INTO marts.data_issues SELECT * FROM marts.data_issues WHERE RULE = 'implausible' AND FIELD = 'LVEF'",
            f"UPDATE marts.extract_log SET STATUS = 'DONE' WHERE EXTRACT_ID = '{LATEST}'",
        ]:
            con.execute(statement)
    tested = run_dbt(copy, "test", "--select", "adeff", "adsl", "data_issues", "extract_log")
    assert tested.returncode == 1
    results = json.loads((copy.parent / "dbt-target" / "run_results.json").read_text())
    failures = {r["unique_id"].split(".")[2]: r["failures"] for r in results["results"] if r["status"] == "fail"}
    implausible_lvef_issues = 1  # the sample's one implausible LVEF, now twice
    assert {
        "unique_combination_adeff_USUBJID__PARAMCD__ABLFL_Y_": 1,  # subject 002's LVEFECHO: Baseline and Month 1
        "unique_combination_adeff_USUBJID__PARAMCD__ADT__PREINFFL": 1,  # subject 002's NYHA at Month 6
        "unique_adsl_USUBJID": 1,
        "unique_data_issues_ISSUE_ID": implausible_lvef_issues,
        "accepted_values_extract_log_STATUS__LOADED__REJECTED": 1,
    }.items() <= failures.items(), failures


def test_an_empty_adsl_fails_the_marts_layer_and_the_summary_says_why(sample_db, sample_reports, tmp_path):
    copy = _broken_copy(sample_db, tmp_path, ["DELETE FROM marts.adsl"])
    with duckdb.connect(str(copy), read_only=True) as con:
        report = validate_layer(con, "marts")
    assert not report.passed
    failed = {(o.suite, o.expectation) for o in report.critical_failures}
    assert ("marts.adsl", "expect_table_row_count_to_be_between") in failed
    assert ("marts.adeff", "expect_column_values_to_be_in_set(IN_ADSL)") in failed, "adeff's subjects are not in adsl"
    row_count = [o for o in report.critical_failures if o.suite == "marts.adsl"][0]
    assert row_count.failing_rows == [{"observed_value": 0}]

    html_path = write_validation_summary([sample_reports["raw"], sample_reports["staging"], report], tmp_path / "v" / "summary.html")
    page = html_path.read_text(encoding="utf-8")
    assert "http" not in page.lower()
    assert "<script" not in page.lower() and "<link" not in page.lower() and "<img" not in page.lower()
    for layer_report in (sample_reports["raw"], sample_reports["staging"], report):
        for suite in layer_report.suites:
            assert suite.name in page
    assert "expect_table_row_count_to_be_between" in page and "observed_value=0" in page
    assert "FAILED" in page and "critical" in page


def test_every_table_has_one_suite_and_every_expectation_is_described(sample_db):
    with duckdb.connect(str(sample_db), read_only=True) as con:
        staging_models = {
            f"staging.{name}" for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
            ).fetchall()
        }
    expected = {
        "raw": {f"raw.{d}" for d in dts.DTS_FILES} | {"raw.transfer_log"},
        "history": {f"history.{d}" for d in dts.DTS_FILES} | {"history.transfers"},
        "staging": staging_models,
        "marts": {f"marts.{t}" for t in contract.MARTS} | {"marts.transfer_changes"},
    }
    for layer in LAYERS:
        suites = load_layer_suites(layer)
        tables = [s.table for s in suites]
        assert sorted(tables) == sorted(expected[layer]), layer
        for suite in suites:
            assert suite.name == suite.table and suite.path.stem == suite.table.split(".")[1]
            assert suite.id_columns
            ids = [json.dumps([e["type"], e["kwargs"]], sort_keys=True) for e in suite.expectations]
            assert len(ids) == len(set(ids)), f"{suite.name} repeats an expectation"
            severities = {e["severity"] for e in suite.expectations}
            assert severities <= {"critical", "warning"} and "critical" in severities, suite.name
            assert all(len(e["meta"]["description"]) > 10 for e in suite.expectations)

    raw_suites = {suite.table: suite for suite in load_layer_suites("raw")}
    for domain in dts.DTS_FILES:  # each raw suite checks the columns the loader must keep
        (columns,) = [e for e in raw_suites[f"raw.{domain}"].expectations if e["type"] == "expect_table_columns_to_match_set"]
        assert columns["kwargs"]["column_set"] == [*LOAD_COLUMNS, *dts.REQUIRED_COLUMNS[domain]]
        assert columns["kwargs"]["exact_match"] is False and columns["severity"] == "critical"

    history_suites = {suite.table: suite for suite in load_layer_suites("history")}
    for domain in dts.DTS_FILES:  # each history suite checks the record key, the file's columns and the version columns
        (columns,) = [e for e in history_suites[f"history.{domain}"].expectations if e["type"] == "expect_table_columns_to_match_set"]
        file_columns = [c for c in dts.REQUIRED_COLUMNS[domain] if c != "RECID"]
        assert columns["kwargs"]["column_set"] == ["SITEID", "RECID", *file_columns, *VERSION_COLUMNS]
        assert columns["kwargs"]["exact_match"] is False and columns["severity"] == "critical"


def test_a_partitioned_suite_scopes_its_own_table_to_the_sites_parameter(tmp_path):
    """A partitioned suite (outside raw) that does not read $sites would validate every site's rows
    after one site's transfer: it does not load."""
    (tmp_path / "marts").mkdir()
    document = json.loads((EXPECTATIONS_DIR / "marts" / "adsl.json").read_text())
    document["meta"]["batch_query"] = ["select * from marts.adsl"]
    (tmp_path / "marts" / "adsl.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"does not scope its table to \$sites"):
        load_layer_suites("marts", tmp_path)
