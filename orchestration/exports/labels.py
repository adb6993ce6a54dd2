"""The XPT variables of the ADaM datasets: name and label of every column (variable_labels.csv).

The CSV is the one place for them: DATASET (mart table), NAME (mart column), LABEL (CDISC ADaM
wording where the standard has one) and XPTNAME, set only where the mart's column name does not fit
XPT version 5's 8 characters (the variable is then written under XPTNAME).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

LABELS_CSV = Path(__file__).with_name("variable_labels.csv")


@dataclass(frozen=True)
class XptVariable:
    name: str
    label: str


def load_variables(path: Path = LABELS_CSV) -> dict[str, dict[str, XptVariable]]:
    """Dataset -> mart column -> its XPT name and label."""
    variables: dict[str, dict[str, XptVariable]] = {}
    with path.open(encoding="utf-8", newline="") as labels:
        for row in csv.DictReader(labels):
            dataset, column = row["DATASET"].strip(), row["NAME"].strip()
            name = (row.get("XPTNAME") or "").strip() or column
            variables.setdefault(dataset, {})[column] = XptVariable(name, row["LABEL"].strip())
    return variables
