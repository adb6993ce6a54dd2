"""The contract's settings: environment variables with their defaults.

Defaults point inside the repository, so a fresh clone runs with no set-up. A relative path given
in an environment variable is taken relative to the current directory, as any CLI would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING_DIR = REPO_ROOT / "seeds" / "landing"
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse.duckdb"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


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
