"""The study report and the exports follow the published build: a refresh killed right after
publishing leaves them behind, and the next refresh, with nothing new, writes them."""

import json
import os
import shutil
import signal
import subprocess
import sys

import duckdb
import pytest

import processes
from conftest import REPO_ROOT, SAMPLE_LANDING, build_database, run_refresh
from orchestration.build_state import latest_publication, outputs_behind
from orchestration.refresh import nothing_new
from orchestration.settings import Settings
from transfer_factory import minimal_rows, write_transfer


def _behind(warehouse):
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        return outputs_behind(con, warehouse), latest_publication(con)


def _refresh_killed_after_publishing(landing, warehouse) -> str:
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    seen = []
    with processes.process_group(
        [sys.executable, "-m", "orchestration.cli", "refresh"], env=env, cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as refresh:
        for line in refresh.stderr:
            seen.append(line)
            if "published_warehouse: done" in line:
                os.killpg(refresh.pid, signal.SIGKILL)  # kill -9, the whole group, right after publishing
                break
        refresh.wait(timeout=60)
    assert refresh.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


@pytest.mark.e2e
def test_a_refresh_killed_after_publishing_is_caught_up_by_the_next(sample_warehouse, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sample_warehouse.parent, copy, ignore=shutil.ignore_patterns("*.refresh.lock"))
    warehouse = copy / sample_warehouse.name
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    assert _behind(warehouse)[0] == [], "the sample refresh wrote its report and exports"
    write_transfer(landing, "KZ77", "20210101T020000Z", minimal_rows("001"))

    _refresh_killed_after_publishing(landing, warehouse)
    behind, publication = _behind(warehouse)
    assert "exports" in behind
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.adsl WHERE SITEID = 'KZ77'").fetchall() == [(1,)], "published"
    assert not nothing_new(Settings(landing, warehouse)), "outputs behind: the refresh has work to do"

    caught_up = run_refresh(landing, warehouse)
    assert caught_up.returncode == 0, caught_up.stderr
    assert "are behind the published build: writing them" in caught_up.stderr
    assert "warehouse_exports: done" in caught_up.stderr and "study_report: done" in caught_up.stderr
    behind, latest = _behind(warehouse)
    assert behind == []
    manifest = json.loads((copy / "exports" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["publication"] == latest
    assert "NCT04325594-KZ77-001" in (copy / "exports" / "adsl.csv").read_text(encoding="utf-8")
    assert "KZ77" in (copy / "reports" / "study_report.html").read_text(encoding="utf-8")

    again = run_refresh(landing, warehouse)
    assert again.returncode == 0, again.stderr
    assert "nothing new since the last publication" in again.stderr and "(checked before starting Dagster)" in again.stderr
