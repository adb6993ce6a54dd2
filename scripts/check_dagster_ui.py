#!/usr/bin/env python
"""End-to-end check of the Dagster UI: `dagster dev` shows everything and runs the nightly job.

    python scripts/check_dagster_ui.py [--port N] [--timeout SECONDS] [--keep]

Run it with the project's interpreter (`.venv/bin/python scripts/check_dagster_ui.py`): it starts
`dagster dev` from that interpreter's bin folder, from the repository root, on a free port (or
--port), with a temporary DAGSTER_HOME and REGENHEART_WAREHOUSE in a temporary folder and the
sample transfers as the landing folder. Through the webserver's GraphQL endpoint it then checks
that every asset and asset check of the Definitions (loaded here, in this process) is visible, and
the `nightly_refresh` job, the nightly schedule (running by default) and the new-transfer sensor;
dry-runs the sensor (it must ask for a run: nothing is published yet); launches a
`nightly_refresh` run, waits for it to end, and checks that it succeeded, that the temporary
warehouse's marts.extract_log has rows, and that a second sensor dry run now skips. It stops the server (its whole process group)
and exits 0 when every check passed, 1 otherwise (with the tail of the dagster dev log).
--keep leaves the temporary folder (log, instance, warehouse) in place and prints where it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING = REPO_ROOT / "seeds" / "landing"
JOB_NAME = "nightly_refresh"
SCHEDULE_NAME = "nightly_refresh_schedule"
SENSOR_NAME = "new_transfer_sensor"
# Always expected, whatever else the asset graph holds (the rest comes from the Definitions).
MINIMUM_ASSETS = {"raw/transfer_log", "raw/dm", "marts/adsl", "marts/adeff", "marts/extract_log"}
MINIMUM_PREFIXES = ("raw/", "staging/", "marts/")
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


class CheckFailed(Exception):
    pass


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM (a CI timeout): stop the server all the same."""


def _interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


@dataclass
class Expected:
    assets: set[str]
    checks: set[str]
    jobs: set[str]
    schedules: set[str]
    sensors: set[str]


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def say(self, line: str) -> None:
        stamped = f"[{time.monotonic() - self.started:6.1f}s] {line}"
        self.lines.append(stamped)
        print(stamped, flush=True)


# --- what the Definitions hold (loaded in this process) ------------------------------------------


def load_expected() -> Expected:
    sys.path.insert(0, str(REPO_ROOT))
    from orchestration.defs.dbt_project import prepare_dbt_manifest

    prepare_dbt_manifest()
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    return Expected(
        assets={key.to_user_string() for key in defs.resolve_all_asset_keys()},
        checks={f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys},
        jobs={job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")},
        schedules={schedule.name for schedule in defs.schedules or []},
        sensors={sensor.name for sensor in defs.sensors or []},
    )


def first_sample_transfer() -> str:
    from orchestration.ingestion.transfers import find_complete_transfers

    return find_complete_transfers(SAMPLE_LANDING)[0].label


# --- GraphQL -------------------------------------------------------------------------------------


class GraphQL:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:3000]
            raise CheckFailed(f"GraphQL HTTP {error.code} for {query.split('(')[0].split('{')[0].strip() or 'query'}: {detail}")
        if payload.get("errors"):
            raise CheckFailed(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
        return payload["data"]


WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

REPOSITORY_QUERY = """
query ($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    __typename
    ... on Repository {
      jobs { name }
      schedules { name cronSchedule executionTimezone scheduleState { status } }
      sensors { name minIntervalSeconds sensorState { status } }
      assetNodes {
        assetKey { path }
        assetChecksOrError { __typename ... on AssetChecks { checks { name } } }
      }
    }
    ... on Error { message }
  }
}
"""

LAUNCH_MUTATION = """
mutation ($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

SENSOR_DRY_RUN = """
mutation ($selector: SensorSelector!, $cursor: String) {
  sensorDryRun(selectorData: $selector, cursor: $cursor) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult { runRequests { runKey } skipReason error { message } }
    }
    ... on Error { message }
  }
}
"""

RUN_QUERY = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status startTime endTime stepStats { stepKey status startTime endTime } }
    ... on Error { message }
  }
}
"""

RUN_ERRORS_QUERY = """
query ($runId: ID!) {
  logsForRun(runId: $runId, limit: 5000) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ExecutionStepFailureEvent { error { message cause { message } } }
      }
    }
  }
}
"""


# --- dagster dev ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dagster_dev(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    dagster = Path(sys.executable).parent / "dagster"
    if not dagster.exists():
        raise CheckFailed(f"{dagster} not found: run this script with the project's interpreter")
    log = log_path.open("wb")
    try:
        # Its own session (process group): stopping it reaches the webserver, daemon and code servers.
        return subprocess.Popen(
            [str(dagster), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


def stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # Ctrl-C first, as in a terminal (dagster dev shuts its children down), then harder.
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The group may outlive its leader by a moment (code server, run worker): make sure it is gone.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for_webserver(gql: GraphQL, process: subprocess.Popen, deadline: float) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"dagster dev exited with code {process.returncode} before answering")
        try:
            return gql("query { version }", timeout=5)["version"]
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(1)
    raise CheckFailed("the webserver did not answer before the timeout")


def wait_for_code_location(gql: GraphQL, process: subprocess.Popen, deadline: float) -> tuple[str, str]:
    """(location name, repository name) once the code location has loaded."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"dagster dev exited with code {process.returncode}")
        workspace = gql(WORKSPACE_QUERY)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise CheckFailed(f"workspace error: {workspace.get('message')}")
        for entry in workspace["locationEntries"]:
            loaded = entry["locationOrLoadError"]
            if entry["loadStatus"] != "LOADED" or loaded is None:
                continue
            if loaded["__typename"] == "PythonError":
                raise CheckFailed(f"code location {entry['name']} failed to load:\n{loaded['message']}{''.join(loaded['stack'])}")
            repositories = loaded["repositories"]
            if len(repositories) != 1:
                raise CheckFailed(f"expected one repository in {entry['name']}, found {[r['name'] for r in repositories]}")
            return loaded["name"], repositories[0]["name"]
        time.sleep(1)
    raise CheckFailed("the code location did not load before the timeout")


# --- the checks ----------------------------------------------------------------------------------


def check_visible(gql: GraphQL, selector: dict, expected: Expected, report: Report) -> None:
    repository = gql(REPOSITORY_QUERY, {"selector": selector})["repositoryOrError"]
    if repository["__typename"] != "Repository":
        raise CheckFailed(f"repository {selector}: {repository.get('message')}")
    problems = []

    assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
    checks = set()
    for node in repository["assetNodes"]:
        found = node["assetChecksOrError"]
        if found["__typename"] == "AssetChecks":
            checks |= {f"{'/'.join(node['assetKey']['path'])}:{c['name']}" for c in found["checks"]}
    for what, wanted, shown in (("asset", expected.assets | MINIMUM_ASSETS, assets), ("asset check", expected.checks, checks)):
        missing = sorted(wanted - shown)
        if missing:
            problems.append(f"{len(missing)} {what}(s) of the Definitions not in the UI: {', '.join(missing[:20])}")
    for prefix in MINIMUM_PREFIXES:
        if not any(key.startswith(prefix) for key in assets):
            problems.append(f"no {prefix}* asset in the UI")
    report.say(
        f"UI shows {len(assets)} assets (Definitions: {len(expected.assets)}), "
        f"{len(checks)} asset checks (Definitions: {len(expected.checks)})"
    )

    jobs = {job["name"] for job in repository["jobs"]}
    schedules = {s["name"]: s for s in repository["schedules"]}
    sensors = {s["name"]: s for s in repository["sensors"]}
    for what, wanted, shown in (
        ("job", expected.jobs | {JOB_NAME}, jobs),
        ("schedule", expected.schedules | {SCHEDULE_NAME}, set(schedules)),
        ("sensor", expected.sensors | {SENSOR_NAME}, set(sensors)),
    ):
        if wanted - shown:
            problems.append(f"{what}(s) not in the UI: {', '.join(sorted(wanted - shown))}")
    schedule = schedules.get(SCHEDULE_NAME)
    if schedule:
        status = schedule["scheduleState"]["status"]
        report.say(
            f"schedule {SCHEDULE_NAME}: '{schedule['cronSchedule']}' {schedule['executionTimezone']}, {status}"
        )
        if status != "RUNNING":
            problems.append(f"schedule {SCHEDULE_NAME} is {status}, not RUNNING by default")
    sensor = sensors.get(SENSOR_NAME)
    if sensor:
        report.say(f"sensor {SENSOR_NAME}: every {sensor['minIntervalSeconds']}s, {sensor['sensorState']['status']}")
    report.say(f"jobs: {', '.join(sorted(j for j in jobs if not j.startswith('__')))}")
    if problems:
        raise CheckFailed("; ".join(problems))


def dry_run_sensor(gql: GraphQL, selector: dict, report: Report) -> tuple[list[str], str | None]:
    """The sensor evaluated once by the code server, as the UI's "Test sensor" does: no run is created.

    The cursor is passed explicitly (null): Dagster 1.13's resolver fails when the argument is absent.
    """
    result = gql(SENSOR_DRY_RUN, {"selector": {**selector, "sensorName": SENSOR_NAME}, "cursor": None})["sensorDryRun"]
    if result["__typename"] != "DryRunInstigationTick":
        raise CheckFailed(f"sensor dry run: {result.get('message')}")
    evaluation = result["evaluationResult"] or {}
    if evaluation.get("error"):
        raise CheckFailed(f"sensor {SENSOR_NAME} raised: {evaluation['error']['message']}")
    keys = [request["runKey"] for request in evaluation.get("runRequests") or []]
    skip = evaluation.get("skipReason")
    report.say(f"sensor dry run: {'run keys ' + ', '.join(keys) if keys else 'skipped: ' + str(skip)}")
    return keys, skip


def launch_and_wait(gql: GraphQL, selector: dict, deadline: float, report: Report) -> str:
    params = {"selector": {**selector, "jobName": JOB_NAME}, "runConfigData": {}}
    launched = gql(LAUNCH_MUTATION, {"executionParams": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        detail = launched.get("message") or json.dumps(launched.get("errors"))
        raise CheckFailed(f"launchRun failed ({launched['__typename']}): {detail}")
    run_id = launched["run"]["runId"]
    report.say(f"launched {JOB_NAME} run {run_id}")
    status = None
    while time.monotonic() < deadline:
        run = gql(RUN_QUERY, {"runId": run_id})["runOrError"]
        if run["__typename"] != "Run":
            raise CheckFailed(f"run {run_id}: {run.get('message')}")
        if run["status"] != status:
            status = run["status"]
            report.say(f"run {run_id[:8]}: {status}")
        if status in FINISHED:
            for step in run["stepStats"]:
                took = (step["endTime"] or 0) - (step["startTime"] or 0)
                report.say(f"  step {step['stepKey']}: {step['status']} in {max(took, 0):.1f}s")
            if run["startTime"] and run["endTime"]:
                report.say(f"run took {run['endTime'] - run['startTime']:.1f}s")
            if status != "SUCCESS":
                raise CheckFailed(f"run {run_id} ended {status}:\n" + run_errors(gql, run_id))
            return run_id
        time.sleep(2)
    raise CheckFailed(f"run {run_id} still {status} at the timeout:\n" + run_errors(gql, run_id))


def run_errors(gql: GraphQL, run_id: str) -> str:
    try:
        logs = gql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"]
    except Exception as error:  # the report must not hide the first failure
        return f"(could not read the run's log: {error})"
    lines = []
    for event in logs.get("events", []):
        error = event.get("error") or {}
        if not error and event.get("level") not in ("ERROR", "CRITICAL"):
            continue
        # A step failure's own message only says "error in op ...": its cause says what.
        text = " <- ".join(m.strip() for m in (error.get("message"), (error.get("cause") or {}).get("message")) if m)
        lines.append(f"  {event.get('stepKey') or 'run'}: {(text or event.get('message') or '').strip()[:600]}")
    return "\n".join(lines[-20:]) or "  (no error events)"


def check_warehouse(warehouse: Path, report: Report) -> None:
    import duckdb

    if not warehouse.is_file():
        raise CheckFailed(f"no warehouse at {warehouse} after the run")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("SELECT STATUS, count(*) FROM marts.extract_log GROUP BY STATUS ORDER BY STATUS").fetchall()
    finally:
        con.close()
    report.say(f"marts.extract_log in {warehouse.name}: {dict(rows) or 'empty'}")
    if not rows:
        raise CheckFailed("marts.extract_log is empty after the run")


def tail(path: Path, lines: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="webserver port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole check (default 600)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (log, instance, warehouse)")
    args = parser.parse_args(argv)

    report = Report()
    deadline = time.monotonic() + args.timeout
    workdir = Path(tempfile.mkdtemp(prefix="regenheart-ui-check-"))
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = workdir / "warehouse" / "warehouse.duckdb"
    log_path = workdir / "dagster-dev.log"
    # Nothing of the caller's warehouse settings leaks in: only the temporary ones below. The test
    # session's tag is no setting: it lets pytest find (and kill) a dagster dev left running.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REGENHEART_") or k == "REGENHEART_TEST_SESSION"},
        "DAGSTER_HOME": str(dagster_home),
        "REGENHEART_WAREHOUSE": str(warehouse),
        "REGENHEART_LANDING_DIR": str(SAMPLE_LANDING),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    # The in-process load below reads the same settings as the server will.
    os.environ.update({k: env[k] for k in ("REGENHEART_WAREHOUSE", "REGENHEART_LANDING_DIR")})

    process = None
    ok = False
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        report.say("loading the Definitions in this process")
        expected = load_expected()
        report.say(
            f"Definitions: {len(expected.assets)} assets, {len(expected.checks)} asset checks, "
            f"jobs {sorted(expected.jobs)}, schedules {sorted(expected.schedules)}, sensors {sorted(expected.sensors)}"
        )
        port = args.port or free_port()
        report.say(f"starting dagster dev on port {port} (DAGSTER_HOME {dagster_home})")
        process = start_dagster_dev(port, env, log_path)
        gql = GraphQL(port)
        version = wait_for_webserver(gql, process, deadline)
        report.say(f"webserver answers (Dagster {version})")
        location, repository = wait_for_code_location(gql, process, deadline)
        report.say(f"code location {location}, repository {repository} loaded")
        selector = {"repositoryLocationName": location, "repositoryName": repository}
        check_visible(gql, selector, expected, report)
        keys, _ = dry_run_sensor(gql, selector, report)
        if keys != [first_sample_transfer()]:
            raise CheckFailed(f"before any run the sensor should request {first_sample_transfer()}, not {keys}")
        launch_and_wait(gql, selector, deadline, report)
        check_warehouse(warehouse, report)
        keys, skip = dry_run_sensor(gql, selector, report)
        if keys or not skip:
            raise CheckFailed(f"after the run every sample transfer is published: the sensor should skip, not request {keys}")
        ok = True
    except CheckFailed as failure:
        report.say(f"CHECK FAILED: {failure}")
    except Interrupted as interruption:
        report.say(f"INTERRUPTED ({interruption}): stopping")
    except Exception as error:  # anything else is a failed check too, with its trace
        import traceback

        report.say(f"CHECK FAILED with an unexpected error: {error!r}\n{traceback.format_exc()}")
    finally:
        # Cleaning up is not interrupted again (a second Ctrl-C); SIGKILL still ends everything.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if process is not None:
            stop_process_group(process)
            report.say(f"dagster dev stopped (exit {process.returncode})")
        if not ok:
            print(f"--- last lines of the dagster dev log ({log_path}) ---\n{tail(log_path)}\n---", flush=True)
        if args.keep:
            report.say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report.say("OK: every check passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
