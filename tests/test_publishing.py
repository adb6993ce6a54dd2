"""Publishing: gates stop a bad build, readers never block a refresh, a killed refresh loses nothing."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import REPO_ROOT, build_database, copy_of_submission_state, run_refresh, run_refresh_process, submission_rows
from orchestration.ingestion import ingest_new_transfers
from orchestration.warehouse import connect
from processes import process_group
from transfer_factory import write_transfer

FIRST = "20210101T020000Z"
SECOND = "20210201T020000Z"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract_ids(warehouse) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT EXTRACT_ID FROM marts.extract_log ORDER BY 1").fetchall()]


@pytest.fixture
def published(submission_warehouse, tmp_path):
    """A private copy of a published state: KZ97's transfer FIRST (subjects 001 and 002) refreshed
    and published (conftest's submission_warehouse, shared), with its landing."""
    return copy_of_submission_state(submission_warehouse, tmp_path / "state")


def test_critical_expectation_stops_the_run_at_its_gate(published):
    """A loaded transfer that no publication includes fails the raw gate: the run stops there.

    Ingestion rejects such rows before committing them (`raw-gate`), so the case is a transfer
    loaded under looser suites, e.g. by an older release: the gate checks it again and stops the run.
    """
    landing, warehouse = published
    before = sha256(warehouse)
    write_transfer(landing, "KZ97", SECOND, submission_rows())
    with connect(build_database(warehouse)) as con:
        assert [t.transfer.extract_id for t in ingest_new_transfers(con, landing).loaded] == [SECOND]
        # a second AE row under the same RECID, on a line of its own: a record key broken after loading
        con.execute(
            "INSERT INTO raw.ae SELECT * REPLACE (SOURCE_LINE + 1 AS SOURCE_LINE, '2' AS AESPID) "
            "FROM raw.ae WHERE EXTRACT_ID = ?", [SECOND],
        )

    result = run_refresh(landing, warehouse)

    assert result.returncode == 3
    assert "check gx_raw_suite on raw/ae failed" in result.stderr
    assert "raw.ae" in result.stderr and "expect_compound_columns_to_be_unique" in result.stderr
    assert "AE001" in result.stderr, "the failing rows are named"
    for step in ("dbt_staging", "dbt_analysis", "published_warehouse"):
        assert f"{step}: started" not in result.stderr, f"{step} ran after the raw gate failed"
    assert sha256(warehouse) == before, "the published file is untouched"
    assert extract_ids(warehouse) == [FIRST]


@pytest.mark.e2e
def test_reader_never_blocks_a_refresh_and_keeps_its_view(published):
    landing, warehouse = published
    write_transfer(landing, "KZ97", SECOND, submission_rows())
    with duckdb.connect(str(warehouse), read_only=True) as reader:
        seen = reader.execute("SELECT count(*) FROM marts.extract_log").fetchone()
        # another process: in this one, DuckDB would hand the refresh the reader's open database
        result = run_refresh_process(landing, warehouse)
        assert result.returncode == 0, result.stderr
        assert reader.execute("SELECT count(*) FROM marts.extract_log").fetchone() == seen == (1,)
        assert reader.execute("SELECT count(*) FROM marts.adsl").fetchone() == (2,)
    assert extract_ids(warehouse) == [FIRST, SECOND], "a new connection sees the new build"


# During load, dbt, a gate, and publishing.
KILL_POINTS = ["ingest_transfers: transfer", "dbt_staging: started", "gx_raw_gate: started", "published_warehouse: started"]


def _refresh_killed_at(landing, warehouse, marker) -> bool:
    """Start `regenheart refresh` and SIGKILL it when its progress shows `marker`; True if killed."""
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    refresh = [sys.executable, "-m", "orchestration.cli", "refresh"]
    with process_group(
        refresh, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as process:
        deadline = time.monotonic() + 300
        for line in process.stderr:
            if marker in line:
                os.killpg(process.pid, signal.SIGKILL)
                return True
            if time.monotonic() > deadline:
                break
    return False


@pytest.mark.e2e
def test_refresh_killed_anywhere_leaves_the_published_file_old_or_new(published):
    landing, warehouse = published
    before = sha256(warehouse)
    write_transfer(landing, "KZ97", SECOND, submission_rows())
    for marker in KILL_POINTS:
        assert _refresh_killed_at(landing, warehouse, marker), f"the refresh never reached {marker!r}"
        if sha256(warehouse) != before:  # the kill came after the rename: the new build, whole
            assert marker == "published_warehouse: started"
            assert extract_ids(warehouse) == [FIRST, SECOND]
        else:
            assert extract_ids(warehouse) == [FIRST]
    result = run_refresh(landing, warehouse)
    assert result.returncode == 0, result.stderr
    assert extract_ids(warehouse) == [FIRST, SECOND]
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        assert con.execute("SELECT EXTRACT_ID, count(*) FROM raw.dm GROUP BY 1 ORDER BY 1").fetchall() == [
            (FIRST, 2), (SECOND, 2)
        ], "a transfer whose load was killed is loaded whole, once"
    assert not list(warehouse.parent.glob("*.publishing-*")), "no partial publication is left behind"


def test_duckdb_memory_is_bounded_by_the_setting(tmp_path, monkeypatch):
    from orchestration.settings import default_duckdb_memory_limit, duckdb_memory_limit
    from orchestration.warehouse import connect

    monkeypatch.delenv("REGENHEART_DUCKDB_MEMORY_LIMIT", raising=False)
    assert duckdb_memory_limit() == default_duckdb_memory_limit()
    monkeypatch.setenv("REGENHEART_DUCKDB_MEMORY_LIMIT", "1500MB")
    con = connect(tmp_path / "bounded.duckdb")
    try:
        # DuckDB reports the limit in its own unit: 1500 MB = 1.3 GiB
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("1.3 GiB",)
    finally:
        con.close()
    monkeypatch.setenv("REGENHEART_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="REGENHEART_DUCKDB_MEMORY_LIMIT='lots': expected a size such as 4GB"):
        connect(tmp_path / "bounded.duckdb")
