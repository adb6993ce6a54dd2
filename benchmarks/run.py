"""Refresh cost against data size, against DuckDB alone, and for the nightly incremental case.

    .venv/bin/python benchmarks/run.py --quick          # 1 site x 30 subjects, under 5 minutes
    .venv/bin/python benchmarks/run.py                  # 1 x 30, 10 x 1,000, 50 x 2,000 (hours)
    .venv/bin/python benchmarks/run.py --scale 10x1000 --repeats 3 --out BENCHMARKS.md

For each scale (sites x subjects per site, `--transfers` cumulative transfers each) the landing is
made with `regenheart generate` (one transfer more per site than loaded at first: the "new
transfer" of the incremental case), then, each case `--repeats` times, median reported:

- full refresh: `regenheart refresh` into an empty warehouse;
- no new transfer: the same command again;
- one new transfer: the next transfer of the first site, on a copy of the full refresh's state;
- floor, load: DuckDB alone reading every CSV of every transfer into tables (`read_csv`,
  cp1251 files transcoded in Python first, as the warehouse must);
- floor, SQL: DuckDB alone running the compiled SQL of every dbt SQL model (`dbt compile`, in
  dependency order, as plain CREATE TABLE) on a copy of the loaded build database;
- submission: `regenheart submission` on the full refresh's warehouse (the SDTM package: XPT,
  Dataset-JSON, define.xml, define.html, its checks), against its own floor:
- floor, package CSV: DuckDB alone writing every table of the package's schemas as CSV (`COPY`);
- GX: the time of each layer's gate (its suites' validation) in the full refresh, and where the
  rest of a refresh's time goes: every step's time, from the refresh's progress output.

Wall time is measured around each command; peak memory is the largest summed RSS of the refresh
process and its children (dbt), sampled every 50 ms. Results print as a table and, with `--out`,
go to a Markdown file with the machine's details.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from orchestration import dts  # noqa: E402
from orchestration.publishing import build_database_path  # noqa: E402
from orchestration.settings import duckdb_memory_limit  # noqa: E402

BIN = Path(sys.executable).parent
QUICK_SCALES = ["1x30"]
FULL_SCALES = ["1x30", "10x1000", "50x2000"]
STEP_DONE = re.compile(r"^\[[0-9:]+\] (\w+): done in ([0-9.]+)s$", re.MULTILINE)
GATES = {"gx_raw_gate": "raw", "gx_history_gate": "history", "gx_staging_gate": "staging", "gx_marts_gate": "marts"}
STEP_CASES = ("full refresh", "one new transfer")


@dataclass
class Measure:
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    def add(self, seconds: float, peak_mb: float = 0.0) -> None:
        self.seconds.append(seconds)
        self.peak_mb.append(peak_mb)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb) if self.peak_mb else 0.0


@dataclass
class ScaleResult:
    scale: str
    transfers: int
    raw_rows: int = 0
    cases: dict[str, Measure] = field(default_factory=dict)
    steps: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def case(self, name: str) -> Measure:
        return self.cases.setdefault(name, Measure())

    def add_steps(self, case: str, seconds_by_step: dict[str, float]) -> None:
        for step, seconds in seconds_by_step.items():
            self.steps.setdefault(case, {}).setdefault(step, []).append(seconds)


def children_cpu() -> float:
    """User+sys seconds of this process's finished children (and theirs: a refresh's dbt processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return (wall seconds, peak summed RSS of its process tree in MB, result)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                rss = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    return time.perf_counter() - started, peak[0] / 2**20, subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def refresh(landing: Path, warehouse: Path, case: str) -> tuple[float, float, dict[str, float]]:
    """(wall seconds, peak MB, seconds of each step that ran); the progress output is kept in
    <warehouse dir>/logs/benchmark-<case>.log."""
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    seconds, peak, result = run_measured([str(BIN / "regenheart"), "refresh"], env)
    log = warehouse.parent / "logs" / f"benchmark-{case.replace(' ', '-')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise SystemExit(f"refresh failed (exit {result.returncode}), see {log}:\n{result.stderr[-3000:]}")
    return seconds, peak, {step: float(s) for step, s in STEP_DONE.findall(result.stderr)}


def generate(root: Path, sites: int, subjects: int, transfers: int) -> Path:
    out = root / "generated"
    if not out.exists():
        say(f"generating {sites} site(s) x {subjects} subjects x {transfers + 1} transfers")
        subprocess.run(
            [str(BIN / "regenheart"), "generate", "--out", str(out), "--sites", str(sites),
             "--subjects-per-site", str(subjects), "--transfers", str(transfers + 1)],
            check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
        )
    return out


def split_landing(generated: Path, root: Path, transfers: int) -> tuple[Path, Path]:
    """A landing with each site's first `transfers` transfers, and the first site's next one."""
    landing = root / "landing"
    if landing.exists():
        shutil.rmtree(landing)
    new_transfer = None
    for site in sorted(p for p in generated.iterdir() if p.is_dir()):
        extracts = sorted(p for p in site.iterdir() if p.is_dir())
        for extract in extracts[:transfers]:
            shutil.copytree(extract, landing / site.name / extract.name)
        if new_transfer is None:
            new_transfer = extracts[transfers]
    return landing, new_transfer


def floor_load(landing: Path, database: Path) -> float:
    """DuckDB alone: every CSV of every transfer into one table per file and transfer."""
    database.unlink(missing_ok=True)
    scratch = database.parent / "transcoded"
    scratch.mkdir(exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(database))
    for number, manifest_path in enumerate(sorted(landing.glob("*/*/manifest.json"))):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for listed in manifest["files"]:
            path = manifest_path.parent / listed["name"]
            if manifest["encoding"] != "utf-8":
                transcoded = scratch / f"{number}-{listed['name']}"
                transcoded.write_text(path.read_text(encoding=manifest["encoding"]), encoding="utf-8")
                path = transcoded
            table = f"t{number}_{listed['name'].removesuffix('.csv')}"
            con.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, all_varchar = true, delim = ?)",
                [str(path), manifest["delimiter"]],
            )
    con.close()
    shutil.rmtree(scratch)
    return time.perf_counter() - started


def compiled_models(warehouse: Path) -> list[tuple[str, str, str, str]]:
    """(schema, name, compiled SQL, materialization) of every dbt SQL model, in dependency order."""
    target = warehouse.parent / "bench-dbt-target"
    env = {**os.environ, "REGENHEART_BUILD_DATABASE": str(build_database_path(warehouse))}
    subprocess.run(
        [str(BIN / "dbt"), "compile", "--full-refresh", "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target),
         "--quiet"],
        check=True, cwd=REPO_ROOT / "dbt_project", env=env,
    )
    manifest = json.loads((target / "manifest.json").read_text())
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model" and v["language"] == "sql"}
    ordered, seen = [], set()

    def visit(key):
        if key in seen or key not in models:
            return
        seen.add(key)
        for parent in models[key]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(key)

    for key in sorted(models):
        visit(key)
    return [
        (models[k]["schema"], models[k]["name"], models[k]["compiled_code"], models[k]["config"]["materialized"])
        for k in ordered
    ]


def floor_sql(warehouse: Path, models: list[tuple[str, str, str, str]]) -> float:
    """DuckDB alone: the compiled SQL of the models, as CREATE OR REPLACE TABLE (VIEW for a view
    model), on a copy."""
    copy_dir = warehouse.parent / "floor-sql"
    shutil.rmtree(copy_dir, ignore_errors=True)
    copy_dir.mkdir()
    build = build_database_path(warehouse)
    copy = copy_dir / build.name  # same file name: the compiled SQL names the database by it
    shutil.copy(build, copy)
    con = duckdb.connect(str(copy))
    started = time.perf_counter()
    for schema, name, sql, materialized in models:
        kind = "VIEW" if materialized == "view" else "TABLE"
        con.execute(f'CREATE OR REPLACE {kind} "{schema}"."{name}" AS {sql}')
    seconds = time.perf_counter() - started
    con.close()
    shutil.rmtree(copy_dir)
    return seconds


PACKAGE_SCHEMAS = ("sdtm", "adam")


def submission(warehouse: Path) -> tuple[float, float]:
    """(wall seconds, peak MB) of `regenheart submission`; its output kept in <warehouse dir>/logs/."""
    env = {**os.environ, "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    seconds, peak, result = run_measured([str(BIN / "regenheart"), "submission"], env)
    log = warehouse.parent / "logs" / "benchmark-submission.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise SystemExit(f"submission failed (exit {result.returncode}), see {log}:\n{result.stderr[-3000:]}")
    return seconds, peak


def floor_package_csv(warehouse: Path, out: Path) -> float:
    """DuckDB alone writing every table of the package's schemas in the published file as CSV."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN (SELECT unnest(?::VARCHAR[]))",
            [list(PACKAGE_SCHEMAS)],
        ).fetchall()
        for schema, table in tables:
            con.execute(f'COPY "{schema}"."{table}" TO \'{out / f"{schema}_{table}.csv"}\' (HEADER)')
    seconds = time.perf_counter() - started
    shutil.rmtree(out)
    return seconds


def raw_rows(warehouse: Path) -> int:
    with duckdb.connect(str(build_database_path(warehouse)), read_only=True) as con:
        return sum(con.execute(f"SELECT count(*) FROM raw.{d}").fetchone()[0] for d in dts.DTS_FILES)


def copy_state(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("reports", "exports", "logs"))


def bench_scale(scale: str, transfers: int, repeats: int, work: Path, build_repeats: int) -> ScaleResult:
    sites, subjects = (int(n) for n in scale.split("x"))
    root = work / scale
    root.mkdir(parents=True, exist_ok=True)
    generated = generate(root, sites, subjects, transfers)
    landing, new_transfer = split_landing(generated, root, transfers)
    result = ScaleResult(scale, transfers)

    for run in range(build_repeats):
        say(f"{scale}: full refresh {run + 1}/{build_repeats}")
        state = root / "full"
        shutil.rmtree(state, ignore_errors=True)
        seconds, peak, steps = refresh(landing, state / "warehouse.duckdb", "full refresh")
        result.case("full refresh").add(seconds, peak)
        result.add_steps("full refresh", steps)
    warehouse = root / "full" / "warehouse.duckdb"
    result.raw_rows = raw_rows(warehouse)
    copy_state(root / "full", root / "after-full")

    for run in range(repeats):
        say(f"{scale}: submission package {run + 1}/{repeats}")
        result.case("submission").add(*submission(warehouse))
        result.case("floor: package CSV").add(floor_package_csv(warehouse, root / "floor-package-csv"))

    for run in range(repeats):
        say(f"{scale}: refresh with no new transfer {run + 1}/{repeats}")
        seconds, peak, _ = refresh(landing, warehouse, "no new transfer")
        result.case("no new transfer").add(seconds, peak)

    incremental_landing = root / "landing-plus-one"
    shutil.rmtree(incremental_landing, ignore_errors=True)
    shutil.copytree(landing, incremental_landing)
    shutil.copytree(new_transfer, incremental_landing / new_transfer.parent.name / new_transfer.name)
    for run in range(build_repeats):
        say(f"{scale}: refresh after one new transfer ({new_transfer.parent.name}/{new_transfer.name}) {run + 1}/{build_repeats}")
        copy_state(root / "after-full", root / "incremental")
        seconds, peak, steps = refresh(incremental_landing, root / "incremental" / "warehouse.duckdb", "one new transfer")
        result.case("one new transfer").add(seconds, peak)
        result.add_steps("one new transfer", steps)

    models = compiled_models(warehouse)
    for run in range(repeats):
        say(f"{scale}: floors (DuckDB alone) {run + 1}/{repeats}")
        result.case("floor: load CSV").add(floor_load(landing, root / "floor-load.duckdb"))
        result.case("floor: model SQL").add(floor_sql(warehouse, models))
    (root / "floor-load.duckdb").unlink(missing_ok=True)
    for step, layer in GATES.items():
        for seconds in result.steps.get("full refresh", {}).get(step, []):
            result.case(f"GX {layer} (full refresh's gate)").add(seconds)
    return result


def render(results: list[ScaleResult]) -> str:
    lines = [
        "| scale (sites x subjects, transfers) | raw rows | case | runs | median s | / floor | peak MB |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for result in results:
        floor = result.case("floor: load CSV").median + result.case("floor: model SQL").median
        for name, measure in result.cases.items():
            # the package is measured against its own floor, DuckDB writing the same tables as CSV
            own_floor = result.case("floor: package CSV").median if name == "submission" else floor
            ratio = f"{measure.median / own_floor:.1f}" if not name.startswith(("floor", "GX")) else ""
            peak = f"{measure.peak:.0f}" if measure.peak else ""
            lines.append(
                f"| {result.scale}, {result.transfers} | {result.raw_rows:,} | {name} | {len(measure.seconds)} "
                f"| {measure.median:.1f} | {ratio} | {peak} |"
            )
    return "\n".join(lines)


def render_steps(results: list[ScaleResult]) -> str:
    """Median seconds of each step of the full and one-new-transfer refreshes."""
    lines = [
        "| scale | step | " + " | ".join(f"{case} s" for case in STEP_CASES) + " |",
        "|---|---|" + "---:|" * len(STEP_CASES),
    ]
    for result in results:
        steps = list(dict.fromkeys(step for case in STEP_CASES for step in result.steps.get(case, {})))
        for step in steps:
            cells = []
            for case in STEP_CASES:
                seconds = result.steps.get(case, {}).get(step)
                cells.append(f"{statistics.median(seconds):.1f}" if seconds else "skipped")
            lines.append(f"| {result.scale} | {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, "
        f"DuckDB {duckdb.__version__}, commit {_commit()}, REGENHEART_DUCKDB_MEMORY_LIMIT {duckdb_memory_limit()}"
    )


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 site x 30 subjects, 2 transfers + 1; rebuilding refreshes once, the rest twice (about 3 minutes)")
    parser.add_argument("--scale", action="append", help="SITESxSUBJECTS, e.g. 10x1000 (repeatable)")
    parser.add_argument("--transfers", type=int, default=None, help="transfers per site loaded first (default 3; --quick: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per case (default 3; --quick: 2)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as Markdown to this file")
    args = parser.parse_args(argv)

    scales = args.scale or (QUICK_SCALES if args.quick else FULL_SCALES)
    args.transfers = args.transfers or (2 if args.quick else 3)
    repeats = args.repeats or (2 if args.quick else 3)
    work = args.work or Path(tempfile.mkdtemp(prefix="regenheart-bench-"))
    say(f"benchmark: scales {', '.join(scales)}, {args.transfers} transfers per site, {repeats} repeats, in {work}")
    started = time.perf_counter()
    # --quick runs each rebuilding refresh once (a minute each even on the sample), the rest twice
    build_repeats = 1 if args.quick else repeats
    results = [bench_scale(scale, args.transfers, repeats, work, build_repeats) for scale in scales]
    table = render(results) + "\n\nWhere a refresh's time goes (seconds per step, median):\n\n" + render_steps(results)
    print(table)
    print(f"\nmachine: {machine()}; total {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.write_text(
            f"## {time.strftime('%Y-%m-%d')}: `benchmarks/run.py {' '.join(argv or sys.argv[1:])}`\n\n"
            f"Machine: {machine()}.\n\n{table}\n",
            encoding="utf-8",
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
