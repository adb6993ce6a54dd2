"""Where dbt's manifest is, and whether it is newer than every file of the dbt project: answered
without importing dbt or dagster-dbt (seconds of imports a command that only reads it need not pay).
"""

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
