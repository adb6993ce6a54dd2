import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from filelock import FileLock

import processes

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING = REPO_ROOT / "seeds" / "landing"


def pytest_configure(config):
    """Before any parallel worker starts: tag the session's processes (workers inherit the tag), and
    prepare dbt's manifest once (workers then find it current)."""
    if not hasattr(config, "workerinput"):
        processes.tag_test_session()
        from orchestration.defs.dbt_project import prepare_dbt_manifest

        prepare_dbt_manifest()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    """No process started by a test outlives the run: kill the leftovers, and fail the run.

    A wrapper runs after every plain pytest_sessionfinish, so xdist has stopped its workers by then.
    """
    result = yield
    if not hasattr(session.config, "workerinput"):
        killed = processes.kill_leftovers()
        if killed:
            processes.report_leftovers(killed)
            session.exitstatus = session.exitstatus or pytest.ExitCode.TESTS_FAILED
    return result


@pytest.fixture(scope="session")
def dbt_manifest():
    """Tests load the Dagster definitions, which need dbt's manifest: prepare it as `dagster dev` would."""
    from orchestration.defs.dbt_project import prepare_dbt_manifest

    prepare_dbt_manifest()


# The warehouses shared by the workers, each the first work of one worker (`shared_warehouses_first`).
FIRST_BUILD_OF_WORKER = {"gw0": "sample_refresh", "gw1": "scenarios"}


@pytest.fixture(scope="session", autouse=True)
def shared_warehouses_first(request):
    """Each xdist worker starts with one of the shared warehouses the collected tests need, so that
    neither waits idle for the one the other is building (a refresh takes a minute)."""
    wanted = FIRST_BUILD_OF_WORKER.get(os.environ.get("PYTEST_XDIST_WORKER", ""))
    needed = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    if wanted in needed:
        request.getfixturevalue(wanted)


@dataclass(frozen=True)
class SampleRefresh:
    warehouse: Path
    result: subprocess.CompletedProcess
    landing_before: dict[str, str]


def built_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """The folder `name` that `build(folder)` fills, built once per test run and shared by every
    xdist worker (the first to ask builds it, the others wait for it), with the facts `build`
    returned (JSON). Tests read what is in it, or copy it before they write."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' basetemps share it
    folder, record = root / name, root / f"{name}.built.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a build that failed halfway left
            folder.mkdir(parents=True)
            record.write_text(json.dumps(build(folder)), encoding="utf-8")
    return folder, json.loads(record.read_text(encoding="utf-8"))


def as_facts(result: subprocess.CompletedProcess) -> dict:
    """A finished command as facts built_once can keep (JSON); `from_facts` gives it back."""
    return {"args": list(result.args), "returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def from_facts(facts: dict) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(facts["args"], facts["returncode"], facts["stdout"], facts["stderr"])


@pytest.fixture(scope="session")
def sample_refresh(tmp_path_factory) -> SampleRefresh:
    """The shipped sample refreshed once, by `regenheart refresh` in a process of its own as a user
    runs it, into a fresh warehouse shared by the tests that read it.

    Tests open it read-only and close their connection when done: a DuckDB file takes one writer.
    """

    def refresh(folder: Path) -> dict:
        landing_before = tree_digest(SAMPLE_LANDING)
        result = run_refresh_process(SAMPLE_LANDING, folder / "warehouse.duckdb")
        return {**as_facts(result), "landing_before": landing_before}

    folder, facts = built_once(tmp_path_factory, "sample", refresh)
    return SampleRefresh(folder / "warehouse.duckdb", from_facts(facts), facts["landing_before"])


@pytest.fixture(scope="session")
def sample_warehouse(sample_refresh) -> Path:
    """The published file (schema marts) of the refreshed sample."""
    assert sample_refresh.result.returncode == 0, sample_refresh.result.stderr
    return sample_refresh.warehouse


@pytest.fixture(scope="session")
def sample_build(sample_warehouse) -> Path:
    """The build database of the refreshed sample: every layer (raw, staging, intermediate, marts)."""
    return build_database(sample_warehouse)


def build_database(warehouse: Path) -> Path:
    from orchestration.publishing import build_database_path

    return build_database_path(warehouse)


def copy_of_warehouse(warehouse: Path, folder: Path) -> Path:
    """The published file, its build database and what was written from them (report, exports),
    copied to `folder` (a test may lock or change them; other tests read the original). Not the
    submission package: another worker may be writing it."""
    shutil.copytree(warehouse.parent, folder, ignore=shutil.ignore_patterns("*.refresh.lock", "dbt-target", "submission*"))
    return folder / warehouse.name


def run_dbt(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on a warehouse's build database, with its own target folder (tests run in
    parallel), in this process as the refreshes run dbt (dbt's dbtRunner, from the project parsed
    once per worker): the exit code and stdout the `dbt` command gives (0, 1 for a failed node, 2
    for an error), without a new interpreter importing dbt and parsing the project each time."""
    from orchestration.defs.dbt.in_process import invoke_dbt
    from orchestration.defs.dbt_project import regenheart_dbt_project

    database, stdout = build_database(warehouse), io.StringIO()
    # dbt's console log goes to sys.stdout as it is when a command starts
    with _environment({"REGENHEART_BUILD_DATABASE": str(database)}), contextlib.redirect_stdout(stdout):
        result = invoke_dbt(args, project=regenheart_dbt_project, target_path=warehouse.parent / "dbt-target",
                            database_name=database.stem)
    returncode = 0 if result.success else 2 if result.exception is not None else 1
    return subprocess.CompletedProcess(["dbt", *args], returncode, stdout.getvalue(), str(result.exception or ""))


def run_refresh(landing: Path, warehouse: Path, *options: str) -> subprocess.CompletedProcess:
    """`regenheart refresh [options]` with the landing and warehouse set in the environment, run in
    this process: the same exit code, stdout and stderr (a traceback included) as the command's,
    without a new interpreter importing Dagster and dbt each time."""
    return run_cli_in_process(
        ["refresh", *options], {"REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)},
    )


def run_refresh_process(landing: Path, warehouse: Path, *options: str) -> subprocess.CompletedProcess:
    """`regenheart refresh [options]` as a user runs it: a separate process, settings from the environment."""
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    return processes.run(
        [sys.executable, "-m", "orchestration.cli", "refresh", *options], env=env, timeout=600, cwd=REPO_ROOT,
    )


def run_cli_in_process(argv: list[str], settings: dict[str, str]) -> subprocess.CompletedProcess:
    """orchestration.cli.main(argv) in this process, with `settings` in the environment (no
    DAGSTER_HOME: an ephemeral instance) and the environment restored after."""
    from orchestration import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    with (_environment(settings), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr),
          contextlib.chdir(REPO_ROOT)):
        try:
            returncode = cli.main(argv)
        except SystemExit as exit:  # argparse's usage errors
            returncode = exit.code if isinstance(exit.code, int) else 1
        except Exception:  # as the interpreter would: the traceback on stderr, exit 1
            traceback.print_exc()
            returncode = 1
    return subprocess.CompletedProcess(["regenheart", *argv], returncode, stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def _environment(settings: dict[str, str]):
    """`settings` in this process's environment, without DAGSTER_HOME (an ephemeral Dagster
    instance), and the whole environment as it was after, whatever the command set in it."""
    saved = dict(os.environ)
    os.environ.update(settings)
    os.environ.pop("DAGSTER_HOME", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_submission(warehouse: Path) -> subprocess.CompletedProcess:
    """`regenheart submission` as a user runs it: its own process group, stopped whatever happens."""
    env = {**os.environ, "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    return processes.run([sys.executable, "-m", "orchestration.cli", "submission"], env=env, timeout=600, cwd=REPO_ROOT)


def submission_rows() -> dict[str, list[dict[str, str]]]:
    """The rows of submission_warehouse's transfer: subject 001 (transfer_factory's minimal rows:
    consented 2020-03-02, infused 2020-03-20T10:30, one AE, disposition COMPLETED 2020-09-20) and
    subject 002, consented 2020-03-01, inclusion IN05 not met (a screen failure), never infused,
    screened 2020-03-10, disposition PHYSICIAN DECISION 2020-03-12."""
    from transfer_factory import minimal_rows

    rows = minimal_rows("001")
    screened = minimal_rows("002")
    rows["dm"] += [dict(screened["dm"][0], CONSDT="2020-03-01")]
    rows["ie"] += [dict(screened["ie"][0], IETESTCD="IN05", IEORRES="N")]
    rows["sv"] += [dict(screened["sv"][0], VISIT="SCREENING", SVSTDTC="2020-03-10")]
    rows["ds"] += [dict(screened["ds"][0], DSDECOD="PHYSICIAN DECISION", DSSTDTC="2020-03-12")]
    return rows


@pytest.fixture(scope="session")
def submission_warehouse(tmp_path_factory) -> Path:
    """A small published warehouse for the submission package's tests (test_submission*.py), the
    start of test_publishing's and test_sdtm_trial_design's, refreshed once (its landing is the
    folder's `landing`): site KZ97, transfer 20210101T020000Z, the rows of submission_rows()."""
    from transfer_factory import write_transfer

    def refresh(root: Path) -> dict:
        write_transfer(root / "landing", "KZ97", "20210101T020000Z", submission_rows())
        result = run_refresh(root / "landing", root / "warehouse" / "warehouse.duckdb")
        assert result.returncode == 0, result.stderr
        return {}

    root, _ = built_once(tmp_path_factory, "submission", refresh)
    return root / "warehouse" / "warehouse.duckdb"


def copy_of_submission_state(submission_warehouse: Path, folder: Path) -> tuple[Path, Path]:
    """A private copy of submission_warehouse's landing and warehouse folder (without the package),
    to refresh further: (landing, published file)."""
    shutil.copytree(submission_warehouse.parent.parent / "landing", folder / "landing")
    return folder / "landing", copy_of_warehouse(submission_warehouse, folder / "warehouse")


@pytest.fixture(scope="session")
def submission_package(submission_warehouse, tmp_path_factory) -> Path:
    """The package `regenheart submission` wrote beside submission_warehouse (tests copy the
    warehouse before they write another one)."""

    def write_package(_: Path) -> dict:
        return as_facts(run_submission(submission_warehouse))

    _, result = built_once(tmp_path_factory, "submission_package", write_package)
    assert result["returncode"] == 0, result["stderr"]
    assert f"Submission package: {submission_warehouse.parent / 'submission'}" in result["stdout"]
    assert "submission: AE: 1 records -> sdtm/ae.xpt, ae.json" in result["stderr"]
    assert "submission: ADAE: 1 records -> adam/adae.xpt, adae.json" in result["stderr"]
    return submission_warehouse.parent / "submission"


def refreshed_twice(root: Path, first: Callable[[Path], None], second: Callable[[Path], None]):
    """root/landing refreshed into root/warehouse.duckdb after `first(landing)` wrote its transfers,
    the published file copied to root/after_first.duckdb, then refreshed again after `second(landing)`:
    the two refreshes' results."""
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    first(landing)
    first_run = run_refresh(landing, warehouse)
    (root / "after_first.duckdb").write_bytes(warehouse.read_bytes())
    second(landing)
    return first_run, run_refresh(landing, warehouse)


# The test modules whose small sites share one landing (see `scenarios`): each has a function
# `scenario()` giving its site id, its first transfer and its second (or None), as (extract id, rows).
SCENARIO_MODULES = ("test_adam", "test_sdtm", "test_sdtm_findings")


@dataclass(frozen=True)
class Scenarios:
    after_first: Path  # a copy of the published file after every module's first transfer
    after_second: Path  # the published file after their second transfers too


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory) -> Scenarios:
    """The small sites of SCENARIO_MODULES, each its own site id, refreshed together twice, once per
    test run: a refresh costs the same for one site as for three, and these sites' rows are derived
    subject by subject, blind to the other sites. A module reads its own site (`site_slice`)."""
    import importlib

    from transfer_factory import write_transfer

    sites = [importlib.import_module(name).scenario() for name in SCENARIO_MODULES]

    def transfers(which: int) -> Callable[[Path], None]:
        """Every site's first (0) or second (1) transfer, the sites without one left out."""
        def write(landing: Path) -> None:
            for site, *extracts in sites:
                if extracts[which] is not None:
                    write_transfer(landing, site, *extracts[which])
        return write

    def refresh_twice(root: Path) -> dict:
        for run in refreshed_twice(root, transfers(0), transfers(1)):
            assert run.returncode == 0, run.stderr
        return {}

    root, _ = built_once(tmp_path_factory, "scenarios", refresh_twice)
    return Scenarios(root / "after_first.duckdb", root / "warehouse.duckdb")


@dataclass(frozen=True)
class AuditLanding:
    landing: Path
    warehouse: Path  # the published file after both refreshes
    after_first: Path  # a copy of it after the first
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    rules: dict  # what test_data_rules.rule_transfers returned


@pytest.fixture(scope="session")
def audit_landing(tmp_path_factory) -> AuditLanding:
    """test_history's site KZ70 and test_data_rules' crafted sites in one landing, refreshed twice
    once per test run: first KZ70's T1 alone, then its later transfers (one broken) with the rule
    sites (one rejected). Each module reads its own sites' rows."""
    import test_data_rules
    import test_history

    def refresh_twice(root: Path) -> dict:
        rules = {}

        def second_transfers(landing: Path) -> None:
            test_history.second_transfers(landing)
            rules.update(test_data_rules.rule_transfers(landing))

        first, second = refreshed_twice(root, test_history.first_transfers, second_transfers)
        return {"rules": rules, "first": as_facts(first), "second": as_facts(second)}

    root, facts = built_once(tmp_path_factory, "audit", refresh_twice)
    return AuditLanding(root / "landing", root / "warehouse.duckdb", root / "after_first.duckdb",
                        from_facts(facts["first"]), from_facts(facts["second"]), facts["rules"])


def site_slice(published: Path, site: str, folder: Path) -> Path:
    """A copy of the published file as one site's own refresh would have published it: every
    table with a SITEID (or a USUBJID, NCT04325594-<site>-<subject>) holds that site's rows only, in
    their stored order; the others (study-level tables) are copied whole."""
    import duckdb

    sliced = folder / f"{published.stem}-{site}.duckdb"
    if sliced.exists():
        return sliced
    with duckdb.connect(str(sliced)) as con:
        con.execute(f"ATTACH '{published}' AS published (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name, list(column_name) FROM duckdb_columns() "
            "WHERE database_name = 'published' GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        for schema, table, columns in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            if "SITEID" in columns:
                where = "WHERE SITEID = $site"
            elif "USUBJID" in columns:
                where = "WHERE split_part(USUBJID, '-', 2) = $site"
            else:
                where = ""
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM published."{schema}"."{table}" {where}',
                        {"site": site} if where else None)
    return sliced


def query(database: Path, sql: str) -> list[tuple]:
    """The rows of `sql` on a DuckDB file opened read-only."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium for playwright (its own download needs the internet), installed once if missing."""
    from browser import ChromiumUnavailable, ensure_chromium

    try:
        return ensure_chromium()
    except ChromiumUnavailable as unavailable:
        pytest.skip(f"no headless Chromium: {unavailable}")


def read_parts(con, parts: list[str], in_order=None, batch_rows: int = 4) -> list[tuple]:
    """The rows of `parts`, one after the other, in batches of `batch_rows` checked by `in_order`."""
    rows, key = [], in_order.COLUMN if in_order else None
    select = "*" + (f", {in_order.select}" if in_order else "")
    for part in parts:
        with con.cursor() as reader:
            for batch in reader.sql(f"SELECT {select} FROM {part}").to_arrow_reader(batch_rows):
                if in_order:
                    in_order.check(batch)
                rows += [tuple(v for k, v in row.items() if k != key) for row in batch.to_pylist()]
    return rows
