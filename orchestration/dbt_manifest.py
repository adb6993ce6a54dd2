"""Where dbt's manifest is, whether it is newer than every file of the dbt project, and what its
models' yml says of their columns (the contract: `data_type`, and labels in `config.meta`):
answered without importing dbt or dagster-dbt (seconds of imports a command that only reads it need
not pay).
"""

import functools
import json
import os
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"  # DbtProject's default target path
_GENERATED = {"target", "logs", "dbt_packages"}


def manifest_is_current() -> bool:
    if not MANIFEST_PATH.exists():
        return False
    built = MANIFEST_PATH.stat().st_mtime
    for folder, subfolders, files in os.walk(DBT_PROJECT_DIR):
        if Path(folder) == DBT_PROJECT_DIR:
            subfolders[:] = [d for d in subfolders if d not in _GENERATED]
        if any(os.stat(os.path.join(folder, name)).st_mtime > built for name in files):
            return False
    return True


def read_manifest(path: Path = MANIFEST_PATH) -> dict:
    """dbt's manifest, parsed once per version of the file."""
    path = Path(path)
    return _parsed(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _parsed(path: Path, _version: int) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def yml_meta(entry: dict) -> dict:
    """A model's or column's meta in the manifest: its `config.meta` over a top-level `meta`."""
    return {**(entry.get("meta") or {}), **((entry.get("config") or {}).get("meta") or {})}


def model_columns(path: Path = MANIFEST_PATH) -> dict[str, dict[str, dict]]:
    """Each model's table ("marts.adsl", "staging.stg_edc__dm") -> its columns in the yml's order
    (the table's): name -> the manifest's entry (`data_type`, `config.meta`, ...)."""
    return {
        f"{node['schema']}.{node.get('alias') or node['name']}": node.get("columns") or {}
        for node in read_manifest(path)["nodes"].values()
        if node.get("resource_type") == "model"
    }
