"""The shape of a site extract as the generator writes it: file names and header columns."""

from __future__ import annotations

from orchestration.dts import DTS_VERSION, STUDY_ID
from orchestration.dts import NUMERIC_COLUMNS as DECIMAL_COLUMNS  # a comma-decimal export rewrites their "." as ","
from orchestration.dts import REQUIRED_COLUMNS as COLUMNS

__all__ = ["COL", "COLUMNS", "DECIMAL_COLUMNS", "DTS_VERSION", "FILES", "IE_CRITERIA", "STUDY_ID", "VISITS_DAYS"]

FILES: tuple[str, ...] = tuple(COLUMNS)

# Index of each column inside a row, for code that patches one field of a row.
COL = {name: {col: i for i, col in enumerate(cols)} for name, cols in COLUMNS.items()}

VISITS_DAYS = ("DAY 1", "DAY 2", "DAY 3", "DAY 4", "DAY 5")

IE_CRITERIA = tuple(f"IN{i:02d}" for i in range(1, 10)) + tuple(f"EX{i:02d}" for i in range(1, 16))
