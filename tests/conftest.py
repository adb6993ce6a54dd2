import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING = REPO_ROOT / "seeds" / "landing"


@pytest.fixture(scope="session")
def dbt_manifest():
    """Tests load the Dagster definitions, which need dbt's manifest: prepare it as `dagster dev` would."""
    from orchestration.defs.dbt.project import prepare_dbt_manifest

    prepare_dbt_manifest()


def run_refresh(landing: Path, warehouse: Path) -> subprocess.CompletedProcess:
    """`regenheart refresh` as a user runs it: a separate process, settings from the environment."""
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "refresh"],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
