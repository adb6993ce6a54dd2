"""Preparing dbt's manifest (the CLI and tests call prepare_dbt_manifest; `dagster dev` prepares it
when the code location loads). The project itself is in defs/shared.py: every concern reads its
manifest."""

from orchestration.dbt_manifest import manifest_is_current
from orchestration.defs.shared import regenheart_dbt_project


def prepare_dbt_manifest() -> None:
    """Parse the dbt project into target/manifest.json, as `dagster dev` would, unless the
    manifest is already newer than every file of the project."""
    if not manifest_is_current():
        regenheart_dbt_project.preparer.prepare(regenheart_dbt_project)
