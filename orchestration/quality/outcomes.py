"""What validating a layer reports: one outcome per expectation (counts, first failing rows), per
suite and per layer, with the readable ids and plain values the summaries and Dagster show."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from orchestration.quality.suites import SuiteDefinition

MAX_FAILING_ROWS = 5
CRITICAL, WARNING = "critical", "warning"
COLUMN_KWARGS = ("column", "column_A", "column_B")


@dataclass
class ExpectationOutcome:
    """The result of one expectation (or of a suite's batch query, when it could not run)."""

    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    failing_rows: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    observed_value: Any = None

    def describe(self) -> str:
        """One line: suite, expectation, severity, counts and the first failing rows."""
        head = f"{self.suite}: {self.expectation} [{self.severity}]"
        if self.success:
            rows = f" ({self.element_count} rows)" if self.element_count is not None else ""
            return f"{head} passed{rows}"
        detail = []
        if self.unexpected_count is not None:
            detail.append(f"{self.unexpected_count} of {self.element_count} rows fail")
        rows = "; ".join(_format_row(row) for row in self.failing_rows[:3])
        if rows:
            detail.append(f"first: {rows}" if self.unexpected_count is not None else rows)
        elif self.observed_value is not None:
            detail.append(f"observed {_short(self.observed_value)}")
        return f"{head} FAILED" + (f": {'; '.join(detail)}" if detail else "")


@dataclass
class SuiteReport:
    name: str
    table: str
    outcomes: list[ExpectationOutcome]
    row_count: int
    description: str = ""
    seconds: float = 0.0

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == CRITICAL]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity != CRITICAL]

    @property
    def passed(self) -> bool:
        return not self.critical_failures


@dataclass
class LayerReport:
    layer: str
    suites: list[SuiteReport]
    new_transfers: list[tuple[str, str]] | None = None
    seconds: float = 0.0

    @property
    def outcomes(self) -> list[ExpectationOutcome]:
        return [outcome for suite in self.suites for outcome in suite.outcomes]

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for suite in self.suites for o in suite.critical_failures]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for suite in self.suites for o in suite.warnings]

    @property
    def passed(self) -> bool:
        """False iff a critical expectation failed (or a batch query could not run)."""
        return not self.critical_failures

    def summary(self) -> str:
        state = "passed" if self.passed else "FAILED"
        return (
            f"{self.layer}: {state}: {len(self.suites)} suite(s), {len(self.outcomes)} expectation(s), "
            f"{len(self.critical_failures)} critical failure(s), {len(self.warnings)} warning(s)"
        )


def outcome_of(
    definition: SuiteDefinition,
    expectation: dict,
    *,
    success: bool,
    element_count: int | None,
    unexpected_count: int | None,
    failing_rows: list[dict[str, Any]],
    observed_value: Any,
) -> ExpectationOutcome:
    """An expectation's outcome as an engine found it (DuckDB, the schema checks, GX), named and
    described by its suite entry."""
    return ExpectationOutcome(
        suite=definition.name,
        expectation=expectation_id(expectation),
        column=", ".join(checked_columns(expectation)) or None,
        severity=expectation.get("severity", CRITICAL),
        success=success,
        element_count=element_count,
        unexpected_count=unexpected_count,
        failing_rows=failing_rows,
        description=(expectation.get("meta") or {}).get("description", ""),
        observed_value=jsonable(observed_value),
    )


def added_up(chunks: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """One outcome per expectation from its outcomes on each chunk: it passes iff it passed on
    every chunk; counts are summed; failing rows come from the first failing chunks."""
    merged = []
    for parts in zip(*chunks):
        failed = [part for part in parts if not part.success]
        merged.append(replace(
            failed[0] if failed else parts[0],
            success=not failed,
            element_count=_total(part.element_count for part in parts),
            unexpected_count=_total(part.unexpected_count for part in parts),
            failing_rows=[row for part in failed for row in part.failing_rows][:MAX_FAILING_ROWS],
        ))
    return merged


def _total(counts) -> int | None:
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


def nothing_to_validate(definition: SuiteDefinition) -> list[ExpectationOutcome]:
    """The sites asked for have no row in this table: every expectation holds on no rows."""
    return [
        ExpectationOutcome(
            suite=definition.name,
            expectation=expectation_id(expectation),
            column=None,
            severity=expectation.get("severity", CRITICAL),
            success=True,
            element_count=0,
            description=(expectation.get("meta") or {}).get("description", ""),
        )
        for expectation in definition.expectations
    ]


def checked_columns(expectation: dict) -> list[str]:
    """The columns an expectation names in its kwargs (column, column_A/B, column_list)."""
    kwargs = expectation.get("kwargs") or {}
    return [kwargs[k] for k in COLUMN_KWARGS if kwargs.get(k)] + list(kwargs.get("column_list") or [])


def expectation_id(expectation: dict) -> str:
    """A short readable id: `type(columns)`, with its row condition when it has one."""
    kwargs = expectation.get("kwargs") or {}
    columns = checked_columns(expectation)
    text = f"{expectation['type']}({', '.join(columns)})" if columns else expectation["type"]
    if kwargs.get("row_condition"):
        text += f" where {condition_text(kwargs['row_condition'])}"
    return text


def condition_text(condition: Any) -> str:
    if isinstance(condition, str):
        return condition
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind.upper()} ".join(condition_text(c) for c in condition["conditions"])
    if kind == "nullity":
        return f"{condition['column']['name']} IS {'NULL' if condition['is_null'] else 'NOT NULL'}"
    if kind == "comparison":
        operator = {"IN": "in", "NOT_IN": "not in"}.get(condition["operator"], condition["operator"])
        return f"{condition['column']['name']} {operator} {condition['parameter']!r}"
    return str(condition.get("pass_through_filter", condition))


def in_order_once(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def jsonable(value: Any) -> Any:
    """Plain Python values for reports: no numpy scalars, NaN/NaT as None, timestamps as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat() if value == value.normalize() else value.isoformat()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime) and value == datetime.combine(value.date(), datetime.min.time()):
        return value.date().isoformat()  # as a pandas Timestamp at midnight above
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _format_row(row: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_short(value)}" for key, value in row.items())


def _short(value: Any, limit: int = 160) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
