"""The XPT variables of the ADaM datasets: name and label of every column, from dbt's manifest.

The marts models' yml is the one place for them: each column's `config.meta.label` (CDISC ADaM
wording where the standard has one) and `config.meta.xpt_name`, set only where the mart's column
name does not fit XPT version 5's 8 characters (the variable is then written under that name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration.dbt_manifest import MANIFEST_PATH, model_columns, yml_meta

SCHEMA = "marts"


@dataclass(frozen=True)
class XptVariable:
    name: str
    label: str


def load_variables(manifest_path: Path = MANIFEST_PATH) -> dict[str, dict[str, XptVariable]]:
    """Mart table -> column -> its XPT name and label: every labelled column of the marts models."""
    variables: dict[str, dict[str, XptVariable]] = {}
    for table, columns in model_columns(manifest_path).items():
        schema, _, name = table.partition(".")
        for column, entry in columns.items() if schema == SCHEMA else ():
            meta = yml_meta(entry)
            if meta.get("label"):
                variables.setdefault(name, {})[column] = XptVariable(meta.get("xpt_name") or column, meta["label"])
    return variables
