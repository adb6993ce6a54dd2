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
# DuckDB's memory in each process of a refresh: its own default, 80 % of the machine's memory (a
# lower bound makes DuckDB spill to `<database>.tmp/`, but the efficacy summary's exact ordered
# aggregates and quantiles cannot spill: see BENCHMARKS.md). dbt_project/profiles.yml has the
# same default for a dbt run of its own.
DEFAULT_DUCKDB_MEMORY_LIMIT = "80%"
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
    value = os.environ.get("REGENHEART_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
    if not _MEMORY_SIZE.fullmatch(value):
        raise ValueError(f"REGENHEART_DUCKDB_MEMORY_LIMIT={value!r}: expected a size such as 4GB, 1500MB or 50%")
    return value
