#!/usr/bin/env python
"""Screenshot of the Dagster UI's asset graph, for the docs.

    .venv/bin/python scripts/screenshot_dagster_ui.py [--out docs/dagster-asset-graph.png] [--port N] [--timeout SECONDS]

Starts `dagster dev` as scripts/check_dagster_ui.py does (its functions: a free port, a temporary
DAGSTER_HOME and warehouse, the sample transfers as the landing folder), opens the global asset
graph in headless Chromium (Debian's /usr/bin/chromium through playwright; it installs nothing)
with the marts, publish and report groups expanded, waits for the asset nodes to render and saves
a 1600x1000 PNG. The browser only reaches the local webserver: any other request is blocked and
listed. dagster dev is stopped (its whole process group) in every case, Ctrl-C included.
Exit code 0 when the PNG was written, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from check_dagster_ui import (
    SAMPLE_LANDING,
    CheckFailed,
    GraphQL,
    Interrupted,
    Report,
    _interrupt,
    free_port,
    start_dagster_dev,
    stop_process_group,
    tail,
    wait_for_code_location,
    wait_for_webserver,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_OUT = REPO_ROOT / "docs" / "dagster-asset-graph.png"
GRAPH_ROUTE = "/asset-groups"  # Dagster 1.13's global asset lineage
# All 60-odd assets expanded are unreadable at this size: the upstream groups stay collapsed boxes.
EXPANDED_GROUPS = ("marts", "publish", "report")
NODE_TEXTS = ("adsl", "adeff")  # asset nodes, drawn once the graph's layout is done
FAILED_SHOT = Path(tempfile.gettempdir()) / "dagster-asset-graph-failed.png"
VIEWPORT = {"width": 1600, "height": 1000}
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-proxy-server"]


def check_browser() -> None:
    if not CHROMIUM.exists():
        raise CheckFailed(f"{CHROMIUM} not found: install Debian's Chromium (sudo apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise CheckFailed("the playwright package is missing: .venv/bin/pip install -e '.[dev]'")


def graph_url(port: int) -> str:
    expanded = ",".join(f"global@global:{group}" for group in EXPANDED_GROUPS)
    return f"http://127.0.0.1:{port}{GRAPH_ROUTE}?expanded={expanded}"


def skip_community_dialog(gql: GraphQL) -> None:
    """The UI greets a new instance with a newsletter dialog over the graph: mark it seen."""
    gql("mutation { setNuxSeen }")


def screenshot_asset_graph(port: int, out: Path, deadline: float, report: Report) -> list[str]:
    """Save the asset graph to `out`; returns the blocked requests to anything but the webserver."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    local = f"http://127.0.0.1:{port}/"
    blocked: list[str] = []

    def local_only(route):
        url = route.request.url
        if url.startswith((local, "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.route("**/*", local_only)
            page.goto(graph_url(port), wait_until="load")
            for text in NODE_TEXTS:
                remaining_ms = max((deadline - time.monotonic()) * 1000, 1000)
                try:
                    page.get_by_text(text, exact=True).first.wait_for(state="visible", timeout=remaining_ms)
                except PlaywrightTimeout:
                    page.screenshot(path=str(FAILED_SHOT))
                    raise CheckFailed(f"no asset node '{text}' rendered on {GRAPH_ROUTE} before the timeout (page: {FAILED_SHOT})")
            report.say(f"asset graph rendered ({', '.join(NODE_TEXTS)} visible)")
            page.wait_for_timeout(2000)  # the graph zooms to fit with an animation
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()
    return blocked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--port", type=int, default=0, help="webserver port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run (default 300)")
    args = parser.parse_args(argv)

    report = Report()
    deadline = time.monotonic() + args.timeout
    workdir = Path(tempfile.mkdtemp(prefix="regenheart-ui-screenshot-"))
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    log_path = workdir / "dagster-dev.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REGENHEART_")},
        "DAGSTER_HOME": str(dagster_home),
        "REGENHEART_WAREHOUSE": str(workdir / "warehouse" / "warehouse.duckdb"),
        "REGENHEART_LANDING_DIR": str(SAMPLE_LANDING),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }

    process = None
    ok = False
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        check_browser()
        port = args.port or free_port()
        report.say(f"starting dagster dev on port {port}")
        process = start_dagster_dev(port, env, log_path)
        gql = GraphQL(port)
        report.say(f"webserver answers (Dagster {wait_for_webserver(gql, process, deadline)})")
        location, _ = wait_for_code_location(gql, process, deadline)
        report.say(f"code location {location} loaded")
        skip_community_dialog(gql)
        blocked = screenshot_asset_graph(port, args.out, deadline, report)
        if blocked:
            report.say(f"blocked {len(blocked)} request(s) to outside the webserver: {', '.join(sorted(set(blocked)))}")
        report.say(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")
        ok = True
    except CheckFailed as failure:
        report.say(f"FAILED: {failure}")
    except Interrupted as interruption:
        report.say(f"INTERRUPTED ({interruption}): stopping")
    except Exception as error:  # anything else is a failure too, with its trace
        import traceback

        report.say(f"FAILED with an unexpected error: {error!r}\n{traceback.format_exc()}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if process is not None:
            stop_process_group(process)
            report.say(f"dagster dev stopped (exit {process.returncode})")
            if not ok:
                print(f"--- last lines of the dagster dev log ---\n{tail(log_path)}\n---", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
