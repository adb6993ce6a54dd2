"""The contract's settings: environment variables with their defaults.

Defaults point inside the repository, so a fresh clone runs with no set-up. A relative path given
in an environment variable is taken relative to the current directory, as any CLI would.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_DIR = REPO_ROOT / "seeds" / "landing"
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse.duckdb"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# DuckDB's memory in each process of a refresh (the refresh's own, dbt's), when
# REGENHEART_DUCKDB_MEMORY_LIMIT is not set: a quarter of the machine's memory, at most 2 GB; what
# does not fit spills to `<database>.tmp/`. Each of the two processes holds a limit: a 4 GB machine
# gives 1 GB each, and a large one stays under 4 GB in all (50 x 2,000 full refresh: 2.8 GB summed
# RSS at 2 GB, 1.8 GB at 1 GB; DuckDB's own default, 80 %, let dbt reach 10.4 GB, BENCHMARKS.md).
# Every model spills (the efficacy summary's statistics are computed in one sorted pass: the exact
# ordered aggregates it used held every value in memory). dbt_project/profiles.yml has the 2 GB
# for a dbt run of its own.
DUCKDB_MEMORY_SHARE = 0.25
DUCKDB_MEMORY_CAP_MB = 2000
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)", re.IGNORECASE)


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            landing_dir=_path_from_env("REGENHEART_LANDING_DIR", SAMPLE_LANDING_DIR),
            warehouse=_path_from_env("REGENHEART_WAREHOUSE", DEFAULT_WAREHOUSE),
        )


def duckdb_memory_limit() -> str:
    """REGENHEART_DUCKDB_MEMORY_LIMIT: the memory DuckDB may use in each process of a refresh."""
    value = os.environ.get("REGENHEART_DUCKDB_MEMORY_LIMIT", "").strip() or default_duckdb_memory_limit()
    if not _MEMORY_SIZE.fullmatch(value):
        raise ValueError(f"REGENHEART_DUCKDB_MEMORY_LIMIT={value!r}: expected a size such as 4GB, 1500MB or 50%")
    return value


def default_duckdb_memory_limit() -> str:
    """DUCKDB_MEMORY_SHARE of the machine's memory, at most DUCKDB_MEMORY_CAP_MB: e.g. '2000MB'."""
    memory = machine_memory()
    share_mb = int(memory * DUCKDB_MEMORY_SHARE) // 10**6 if memory else DUCKDB_MEMORY_CAP_MB
    return f"{min(DUCKDB_MEMORY_CAP_MB, share_mb)}MB"


def machine_memory() -> int | None:
    """Bytes of memory of this machine, or of its container when a cgroup limits it lower; None
    where the system does not tell."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            memory = min(memory, int(limit))
    return memory if memory > 0 else None


def duckdb_temp_directory(database: Path) -> Path:
    """Where DuckDB spills what does not fit in its memory: `<database>.tmp/` beside the database."""
    return database.with_name(database.name + ".tmp")
