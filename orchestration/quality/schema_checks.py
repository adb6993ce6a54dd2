"""A batch's schema checks (`expect_column_type_to_be`, `expect_table_columns_to_match_set`) with
GX's pandas meaning, without GX: on the dtypes of the batch's zero-row DataFrame (batch.py's
`dataframe`), compared as GX 1.x's pandas engine compares them. A gate then needs no GX import
(seconds in a new process) and no GX validation per suite; tests/test_sql_checks.py holds both
engines to the same outcomes.

What GX would report as an error (a column the batch lacks, a type name pandas cannot parse) is
left to GX: `outcome` returns None for it.
"""

from __future__ import annotations

from typing import Any

from orchestration.quality.outcomes import ExpectationOutcome, outcome_of

SCHEMA_TYPES = ("expect_column_type_to_be", "expect_table_columns_to_match_set")


def outcome(definition, expectation: dict, frame, row_count: int) -> ExpectationOutcome | None:
    """The outcome of one schema check on `frame` (the batch's columns and dtypes), or None where
    GX would raise."""
    kwargs = expectation.get("kwargs") or {}
    if expectation["type"] == "expect_column_type_to_be":
        if kwargs["column"] not in frame.columns:
            return None
        checked = _column_type_is(frame[kwargs["column"]].dtype, kwargs["type_"])
        if checked is None:
            return None
        success, observed = checked
        failing_rows = [] if success else [{"observed_value": observed}]
    else:
        success, observed, missing = _columns_match_set(list(frame.columns), kwargs.get("column_set"),
                                                        kwargs.get("exact_match", True))
        failing_rows = [] if success else [{"missing_columns": ", ".join(missing)}]
    return outcome_of(definition, expectation, success=success, element_count=row_count, unexpected_count=None,
                      failing_rows=failing_rows, observed_value=observed)


def _column_type_is(actual, expected_type: str) -> tuple[bool, str] | None:
    """GX's ExpectColumnTypeToBe._validate_pandas: (success, observed dtype), None where it raises."""
    import numpy as np
    import pandas as pd
    from pandas.api.types import pandas_dtype

    try:
        parsed = pandas_dtype(expected_type)
    except Exception:  # GX: "Unrecognized pandas type"
        return None
    if isinstance(parsed, np.dtype) and parsed.kind in "mM" and np.datetime_data(parsed)[0] == "generic":
        success = isinstance(actual, np.dtype) and actual.kind == parsed.kind  # a unit-less name: the kind
    elif isinstance(actual, pd.StringDtype) and isinstance(parsed, pd.StringDtype):
        success = str(actual) == str(parsed)  # "str" and "string" differ, their storage does not matter
    else:
        success = actual in (parsed, expected_type)
    return bool(success), str(actual)


def _columns_match_set(actual: list[str], column_set: Any, exact_match: bool) -> tuple[bool, list[str], list[str]]:
    """GX's ExpectTableColumnsToMatchSet on pandas: (success, observed columns sorted, missing
    columns sorted). Without exact_match, columns beyond the set are allowed."""
    expected = set(column_set) if column_set is not None else set()
    observed = sorted(str(column) for column in set(actual))
    unexpected, missing = set(actual) - expected, sorted(expected - set(actual))
    if (column_set is None and exact_match is not True) or not (unexpected or missing):
        return True, observed, []
    return not exact_match and not missing, observed, missing
