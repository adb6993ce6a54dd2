"""The nightly schedule and the new-transfer sensor: definitions, and the sensor's decisions on real
landing folders, real DuckDB files and a real (temporary) Dagster instance."""

import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import REPO_ROOT, SAMPLE_LANDING
from processes import duckdb_file_held, process_group
from transfer_factory import write_transfer

from orchestration.defs.automation import sensors
from orchestration.defs.automation.schedules import nightly_refresh_schedule
from orchestration.defs.automation.sensors import RUN_KEY_TAG, SENSOR_NAME, SENSOR_NAME_TAG, new_transfer_sensor
from orchestration.defs.resources import WarehouseResource


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def tick(instance, landing: Path, warehouse: Path):
    """One sensor evaluation as the daemon does it; returns (run requests, skip message)."""
    with dg.build_sensor_context(
        instance=instance,
        sensor_name=SENSOR_NAME,
        resources={"warehouse": WarehouseResource(landing_dir=str(landing), warehouse_path=str(warehouse))},
    ) as context:
        result = new_transfer_sensor(context)
    if isinstance(result, dg.SkipReason):
        return [], result.skip_message
    assert isinstance(result, dg.RunRequest), result
    return [result], None


def add_run(instance, *, run_key=None, status=dg.DagsterRunStatus.SUCCESS, job_name="nightly_refresh"):
    tags = {RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: SENSOR_NAME} if run_key else {}
    run = dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=status, tags=tags)
    instance.add_run(run)
    return run


def write_published(path: Path, labels: list[str]) -> Path:
    """A small published warehouse: only marts.extract_log, with these SITEID/EXTRACT_ID."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.extract_log (SITEID VARCHAR, EXTRACT_ID VARCHAR, STATUS VARCHAR, REASON VARCHAR, "
            "FILES INTEGER, ROWS BIGINT, LOADED_AT TIMESTAMP)"
        )
        for label in labels:
            site, extract = label.split("/")
            con.execute("INSERT INTO marts.extract_log VALUES (?, ?, 'LOADED', NULL, 11, 11, now())", [site, extract])
    finally:
        con.close()
    return path


# --- definitions ---------------------------------------------------------------------------------


def test_definitions_hold_the_nightly_schedule_and_the_sensor(dbt_manifest):
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Almaty"
    assert schedule.job_name == "nightly_refresh"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    sensor = defs.resolve_sensor_def("new_transfer_sensor")
    assert sensor.job_name == "nightly_refresh"
    assert sensor.minimum_interval_seconds == 60
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


# --- the sensor ----------------------------------------------------------------------------------


def test_a_new_complete_transfer_requests_one_run_keyed_site_and_extract(tmp_path, instance):
    write_transfer(tmp_path / "landing", "KZ99", "20210101T020000Z")

    requests, skipped = tick(instance, tmp_path / "landing", tmp_path / "warehouse.duckdb")

    assert skipped is None
    assert [r.run_key for r in requests] == ["KZ99/20210101T020000Z"]


def test_a_folder_without_manifest_requests_nothing(tmp_path, instance):
    folder = write_transfer(tmp_path / "landing", "KZ99", "20210101T020000Z")
    (folder / "manifest.json").unlink()

    requests, skipped = tick(instance, tmp_path / "landing", tmp_path / "warehouse.duckdb")

    assert requests == []
    assert "no complete transfer" in skipped


def test_only_the_complete_transfer_is_requested_beside_one_still_arriving(tmp_path, instance):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ99", "20210101T020000Z")
    (write_transfer(landing, "KZ99", "20210201T020000Z") / "manifest.json").unlink()

    requests, _ = tick(instance, landing, tmp_path / "warehouse.duckdb")

    assert [r.run_key for r in requests] == ["KZ99/20210101T020000Z"]


def test_several_new_transfers_are_coalesced_into_one_run_and_each_key_is_used_once(tmp_path, instance):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_transfer(landing, "KZ99", "20210101T020000Z")
    write_transfer(landing, "AB01", "20210301T020000Z")

    requests, _ = tick(instance, landing, warehouse)
    assert [r.run_key for r in requests] == ["AB01/20210301T020000Z"]  # site, then extract-id order
    assert requests[0].tags["regenheart/new_transfers"] == "2"

    # That run failed before publishing (nothing in marts.extract_log): the next key, once.
    add_run(instance, run_key="AB01/20210301T020000Z", status=dg.DagsterRunStatus.FAILURE)
    requests, _ = tick(instance, landing, warehouse)
    assert [r.run_key for r in requests] == ["KZ99/20210101T020000Z"]

    add_run(instance, run_key="KZ99/20210101T020000Z")
    requests, skipped = tick(instance, landing, warehouse)
    assert requests == []
    assert "2 requested before" in skipped


def test_a_transfer_in_the_published_extract_log_is_already_seen(tmp_path, instance):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ99", "20210101T020000Z")
    write_transfer(landing, "KZ99", "20210201T020000Z")
    warehouse = write_published(tmp_path / "warehouse.duckdb", ["KZ99/20210101T020000Z"])

    requests, _ = tick(instance, landing, warehouse)
    assert [r.run_key for r in requests] == ["KZ99/20210201T020000Z"]

    warehouse.unlink()
    write_published(warehouse, ["KZ99/20210101T020000Z", "KZ99/20210201T020000Z"])
    requests, skipped = tick(instance, landing, warehouse)
    assert requests == []
    assert "no new transfer" in skipped and "2 in marts.extract_log" in skipped


def test_the_refreshed_sample_needs_no_run(sample_warehouse, instance):
    # The real refresh published every sample transfer: nothing is new.
    requests, skipped = tick(instance, SAMPLE_LANDING, sample_warehouse)

    assert requests == []
    expected = len([p for p in SAMPLE_LANDING.glob("*/*") if (p / "manifest.json").is_file()])
    assert f"{expected} in marts.extract_log" in skipped


def test_a_locked_published_file_falls_back_to_run_keys_without_failing_the_tick(tmp_path, instance):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ99", "20210101T020000Z")
    warehouse = write_published(tmp_path / "warehouse.duckdb", ["KZ99/20210101T020000Z"])
    with duckdb_file_held(warehouse):
        requests, _ = tick(instance, landing, warehouse)
        assert [r.run_key for r in requests] == ["KZ99/20210101T020000Z"]  # extract_log unreadable

        add_run(instance, run_key="KZ99/20210101T020000Z")
        requests, skipped = tick(instance, landing, warehouse)
        assert requests == []
        assert "could not open" in skipped and "run keys alone" in skipped


def test_no_run_while_a_refresh_is_in_progress_unless_that_run_is_stale(tmp_path, instance, monkeypatch):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ99", "20210101T020000Z")
    running = add_run(instance, status=dg.DagsterRunStatus.STARTED)

    requests, skipped = tick(instance, landing, tmp_path / "warehouse.duckdb")
    assert requests == []
    assert running.run_id in skipped and "STARTED" in skipped

    # A run created longer ago than the bound (its process died with a killed `dagster dev`).
    monkeypatch.setattr(sensors, "STALE_RUN_AFTER", timedelta(seconds=-60))
    requests, _ = tick(instance, landing, tmp_path / "warehouse.duckdb")
    assert [r.run_key for r in requests] == ["KZ99/20210101T020000Z"]


def test_a_missing_landing_folder_skips_the_tick(tmp_path, instance):
    requests, skipped = tick(instance, tmp_path / "nowhere", tmp_path / "warehouse.duckdb")

    assert requests == []
    assert "landing" in skipped


def test_the_schedule_requests_a_run_unless_a_refresh_is_in_progress(instance):
    result = nightly_refresh_schedule(dg.build_schedule_context(instance=instance))
    assert isinstance(result, dg.RunRequest)

    add_run(instance, status=dg.DagsterRunStatus.STARTING)
    result = nightly_refresh_schedule(dg.build_schedule_context(instance=instance))
    assert isinstance(result, dg.SkipReason)


# --- the UI end to end ---------------------------------------------------------------------------


@pytest.mark.ui
def test_dagster_dev_shows_everything_and_runs_the_nightly_job():
    """scripts/check_dagster_ui.py end to end (about 70 s: dagster dev start-up, one refresh run)."""
    started = time.monotonic()
    script = [sys.executable, str(REPO_ROOT / "scripts" / "check_dagster_ui.py"), "--timeout", "480"]
    # grace: on SIGTERM the script stops its dagster dev (its own session) before it exits, in up to ~50 s
    with process_group(
        script, grace=90, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as check:
        try:
            output, _ = check.communicate(timeout=540)
        except subprocess.TimeoutExpired:
            check.terminate()
            output, _ = check.communicate(timeout=90)
    elapsed = time.monotonic() - started
    assert check.returncode == 0, f"after {elapsed:.0f}s:\n{output}"
    assert "run took" in output and "OK: every check passed" in output
