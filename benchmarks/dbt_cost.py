"""What dbt costs in one refresh, however small the landing: the fixed cost of a dbt process, the
refresh's two dbt steps each as a `dbt` process (as dagster-dbt's DbtCliResource ran them until
2026-12-07, and as `dbt build` runs from a terminal), and the same steps as Dagster runs them now:
in one Python process that parses the project once and builds each step from a copy of that parse
(dbt's `dbtRunner`, orchestration/defs/dbt/in_process.py).

    make demo                                    # or any refreshed warehouse
    .venv/bin/python benchmarks/dbt_cost.py data/warehouse.duckdb --repeats 3

It works on a copy of the warehouse's build database in a temporary folder (the warehouse is only
read), with the step arguments the Dagster steps use (orchestration/defs/dbt/assets.py) and
`--full-refresh`, as in a first build. CPU is the user+sys seconds of the dbt process, or of the
process running dbtRunner; nodes are the seeds, models and tests dbt ran. The first dbt process on
the copy parses the whole project (its path is new to dbt's partial parse): that is a case of its
own, and every later case reuses the parse, as the second step of a refresh does.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BIN, REPO_ROOT, build_database_path, children_cpu  # noqa: E402  (benchmarks/run.py)

DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = BIN / "dbt"
NOTHING = "path:models/no_such_model"


def _steps() -> tuple[tuple[str, ...], dict[str, str]]:
    from orchestration.defs.dbt.assets import BUILD_ARGS, STEP_SELECTIONS

    return BUILD_ARGS, STEP_SELECTIONS


def _dbt_env(work: Path) -> dict[str, str]:
    """The environment dagster-dbt's DbtCliResource.cli gave its dbt process."""
    return {
        **os.environ,
        "REGENHEART_BUILD_DATABASE": str(work / "warehouse.build.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_FORMAT": "json",
        "DBT_TARGET_PATH": str(work / "dbt-target"),
        "DBT_LOG_PATH": str(work / "dbt-target"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_PROJECT_DIR": str(DBT_PROJECT),
    }


def _nodes(work: Path) -> str:
    run_results = work / "dbt-target" / "run_results.json"
    if not run_results.exists():  # dbt writes none when nothing is selected
        return "none"
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    kinds = collections.Counter(r["unique_id"].split(".")[0] for r in results)
    return ", ".join(f"{count} {kind}s" for kind, count in sorted(kinds.items())) or "none"


def dbt_process(work: Path, args: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s, nodes) of one `dbt` process."""
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run([str(DBT), *args], env=_dbt_env(work), cwd=DBT_PROJECT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}")
    return wall, cpu, _nodes(work) if args[0] == "build" else ""


def in_process(work: Path) -> dict[str, tuple[float, float, str]]:
    """The two steps through dbtRunner in a new Python process, as the Dagster steps run them."""
    build_args, selections = _steps()
    steps = json.dumps({"build_args": build_args, "selections": selections})
    result = subprocess.run(
        [sys.executable, __file__, "--in-process-child", str(work), "--steps", steps],
        env=_dbt_env(work), cwd=DBT_PROJECT, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"the dbtRunner process failed:\n{result.stderr[-3000:]}")
    return {case: tuple(measured) for case, measured in json.loads(result.stdout.splitlines()[-1]).items()}


def _in_process_child(work: Path, steps: dict) -> None:
    """Given the steps by the parent: importing them here would import dbt before it is measured."""

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    build_args, selections = steps["build_args"], steps["selections"]
    measured = {}
    clock, spent = time.perf_counter(), cpu()
    from dbt.cli.main import dbtRunner

    manifest = dbtRunner().invoke(["parse", "--quiet"]).result
    measured["in process: import dbt, parse (partial)"] = (time.perf_counter() - clock, cpu() - spent, "")
    for step, selection in selections.items():
        clock, spent = time.perf_counter(), cpu()
        with contextlib.redirect_stdout(io.StringIO()):  # dbt's progress lines, as in a refresh
            done = dbtRunner(manifest=manifest.deepcopy()).invoke(
                [*build_args, "--no-use-colors", "--full-refresh", "--select", *selection.split()]
            )
        if not done.success:
            raise SystemExit(f"{step} failed in process: {done.exception}")
        measured[f"in process: {step}"] = (time.perf_counter() - clock, cpu() - spent, _nodes(work))
    print(json.dumps(measured))


def measure(warehouse: Path, repeats: int, work: Path) -> dict[str, list[tuple[float, float, str]]]:
    build = build_database_path(warehouse)
    if not build.exists():
        raise SystemExit(f"{build} does not exist: refresh {warehouse} first (make demo)")
    build_args, selections = _steps()
    cases: dict[str, list[tuple[float, float, str]]] = collections.defaultdict(list)
    for repeat in range(repeats):
        shutil.rmtree(work / "dbt-target", ignore_errors=True)
        shutil.copyfile(build, work / "warehouse.build.duckdb")
        print(f"[{time.strftime('%H:%M:%S')}] round {repeat + 1} of {repeats}", file=sys.stderr, flush=True)
        cases["dbt process: full parse, nothing selected"].append(dbt_process(work, ["build", "--select", NOTHING]))
        cases["dbt process: partial parse, nothing selected"].append(dbt_process(work, ["build", "--select", NOTHING]))
        cases["dbt --version (DbtCliResource: once per run)"].append(dbt_process(work, ["--version"]))
        for step, selection in selections.items():
            cases[f"dbt process: {step}"].append(
                dbt_process(work, [*build_args, "--full-refresh", "--select", *selection.split()])
            )
        for case, measured in in_process(work).items():
            cases[case].append(measured)
    return cases


def table(cases: dict[str, list[tuple[float, float, str]]]) -> str:
    lines = ["| case | runs | median wall s | median CPU s | nodes |", "|---|---:|---:|---:|---|"]
    for case, runs in cases.items():
        lines.append(
            f"| {case} | {len(runs)} | {statistics.median(r[0] for r in runs):.1f} "
            f"| {statistics.median(r[1] for r in runs):.1f} | {runs[-1][2]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path, nargs="?", help="a refreshed warehouse (its build database is copied)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-process-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process_child:
        _in_process_child(args.in_process_child, args.steps)
        return 0
    if args.warehouse is None:
        parser.error("give a refreshed warehouse, e.g. data/warehouse.duckdb")
    with tempfile.TemporaryDirectory(prefix="dbt-cost-") as work:
        print(table(measure(args.warehouse.resolve(), args.repeats, Path(work))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
