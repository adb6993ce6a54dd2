"""Seconds per step of one full `regenheart refresh`, to compare two commits on the same landing.

    .venv/bin/regenheart generate --out /tmp/perf/landing --sites 10 --subjects-per-site 2000 --transfers 3
    .venv/bin/python benchmarks/refresh_steps.py /tmp/perf/landing /tmp/perf/before   # on the old commit
    .venv/bin/python benchmarks/refresh_steps.py /tmp/perf/landing /tmp/perf/after    # on the new one
    .venv/bin/python benchmarks/refresh_steps.py --compare /tmp/perf/before /tmp/perf/after
    .venv/bin/python benchmarks/table_hashes.py /tmp/perf/before/warehouse.duckdb /tmp/perf/after/warehouse.duckdb

Each run refreshes into an empty warehouse `<out>/warehouse.duckdb` (a previous one there is
removed), keeps the progress output in `<out>/refresh.log` and the seconds of every step (from its
"<step>: done in N s" line), the wall time and the CPU time (user+sys of the refresh and its dbt
processes; on a small landing, what a refresh costs however little it loads) in `<out>/steps.json`.
`--compare A B` prints both side by side. The steps are those of benchmarks/run.py's full refresh
case; that script measures the floors. benchmarks/dbt_cost.py splits the dbt steps further.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BIN, REPO_ROOT, STEP_DONE, children_cpu  # noqa: E402  (benchmarks/run.py, not a package)


def measure(landing: Path, out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    warehouse = out / "warehouse.duckdb"
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    started, cpu = time.perf_counter(), children_cpu()
    result = subprocess.run([str(BIN / "regenheart"), "refresh"], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    (out / "refresh.log").write_text(result.stderr, encoding="utf-8")
    if result.returncode not in (0, 1):  # 1: a transfer was rejected, the others built
        raise SystemExit(f"refresh failed (exit {result.returncode}), see {out / 'refresh.log'}")
    measured = {"wall": round(wall, 1), "cpu": round(cpu, 1), "exit": result.returncode,
                "steps": {step: float(s) for step, s in STEP_DONE.findall(result.stderr)}}
    (out / "steps.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    return measured


def table(columns: dict[str, dict]) -> str:
    steps = list(dict.fromkeys(step for measured in columns.values() for step in measured["steps"]))
    lines = ["| step | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for step in steps:
        lines.append(f"| {step} | " + " | ".join(f"{m['steps'].get(step, float('nan')):.1f}" for m in columns.values()) + " |")
    lines.append("| wall (whole refresh process) | " + " | ".join(f"{m['wall']:.1f}" for m in columns.values()) + " |")
    lines.append("| CPU (user+sys, the process and its dbt processes) | "
                 + " | ".join(f"{m.get('cpu', float('nan')):.1f}" for m in columns.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="LANDING OUT, or with --compare: OUT folders")
    parser.add_argument("--compare", action="store_true", help="print the steps.json of the OUT folders side by side")
    args = parser.parse_args(argv)
    if args.compare:
        print(table({str(p): json.loads((p / "steps.json").read_text()) for p in args.paths}))
        return 0
    if len(args.paths) != 2:
        parser.error("give LANDING OUT")
    landing, out = args.paths
    print(table({str(out): measure(landing.resolve(), out.resolve())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
