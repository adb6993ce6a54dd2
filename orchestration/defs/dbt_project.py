"""The dbt project, with a manifest prepared under `dagster dev` (the CLI and tests call
prepare_dbt_manifest). Importing it reads no manifest: defs/shared.py, which names the models from
the manifest, imports the project from here, and prepare_dbt_manifest must run before it."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.dbt_manifest import MANIFEST_PATH, manifest_is_current
from orchestration.settings import DBT_PROJECT_DIR


def _put_interpreter_bin_on_path() -> None:
    # dagster-dbt runs `dbt` from PATH; `.venv/bin/python -m ...` does not put .venv/bin there.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


_put_interpreter_bin_on_path()
regenheart_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
regenheart_dbt_project.prepare_if_dev()
if regenheart_dbt_project.manifest_path != MANIFEST_PATH:
    raise RuntimeError(f"orchestration.dbt_manifest names {MANIFEST_PATH}, dagster-dbt {regenheart_dbt_project.manifest_path}")


def prepare_dbt_manifest() -> None:
    """Parse the dbt project into target/manifest.json, as `dagster dev` would, unless the
    manifest is already newer than every file of the project."""
    if not manifest_is_current():
        regenheart_dbt_project.preparer.prepare(regenheart_dbt_project)
