"""A suite's row-level expectations counted in DuckDB on its batch table (sql_checks.py) and its
schema checked on the batch's zero-row DataFrame (schema_checks.py), both with GX's meaning; GX
runs only what neither can."""

from __future__ import annotations

from typing import Any

import duckdb

from orchestration.quality import schema_checks, sql_checks
from orchestration.quality.batch import BATCH_TABLE, PARTITION, dataframe
from orchestration.quality.gx_runner import validate_frame, validated_on_frames
from orchestration.quality.outcomes import (
    MAX_FAILING_ROWS,
    ExpectationOutcome,
    checked_columns,
    in_order_once,
    jsonable,
    outcome_of,
)
from orchestration.quality.suites import SuiteDefinition
from orchestration.sql import identifier

def validated_in_duckdb(con, batch_definition, definition: SuiteDefinition, sizes, chunk_cells, rows: int):
    """Row-level expectations counted in DuckDB; the schema ones on the batch's zero-row DataFrame
    (its dtypes), by GX only where it would report an error; any other type by GX on DataFrames of
    the batch."""
    in_sql = {i: e for i, e in enumerate(definition.expectations) if sql_checks.supported(e)}
    schema = {i for i, e in enumerate(definition.expectations) if e["type"] in schema_checks.SCHEMA_TYPES}
    on_frames = set(range(len(definition.expectations))) - set(in_sql) - schema
    outcomes: dict[int, ExpectationOutcome] = {}
    if schema:
        frame = dataframe(con.execute(f"select * exclude ({PARTITION}) from {BATCH_TABLE} limit 0"))
        checked = {i: schema_checks.outcome(definition, definition.expectations[i], frame, rows) for i in schema}
        outcomes.update({i: outcome for i, outcome in checked.items() if outcome is not None})
        if by_gx := {i for i, outcome in checked.items() if outcome is None}:
            outcomes.update(validate_frame(batch_definition, definition, frame, by_gx, row_count=rows))
    counts, not_compiled = _counted_in_duckdb(con, in_sql)
    on_frames |= not_compiled
    for index, count in counts.items():
        outcomes[index] = _counted_outcome(con, definition, in_sql[index], count)
    if on_frames:
        outcomes.update(zip(sorted(on_frames), validated_on_frames(
            con, batch_definition, definition, sizes, chunk_cells, on_frames)))
    return [outcomes[index] for index in range(len(definition.expectations))]


def _counted_in_duckdb(con, expectations: dict[int, dict]) -> tuple[dict, set[int]]:
    """The Counts of the expectations DuckDB can run, and the positions of those it cannot (a
    column missing from the batch, or of another type than the check needs): GX runs those, and
    reports them as it always has."""
    try:
        return sql_checks.evaluate(con, BATCH_TABLE, expectations), set()
    except (duckdb.Error, KeyError, ValueError):
        counts, not_compiled = {}, set()
        for index, expectation in expectations.items():
            try:
                counts.update(sql_checks.evaluate(con, BATCH_TABLE, {index: expectation}))
            except (duckdb.Error, KeyError, ValueError):
                not_compiled.add(index)
        return counts, not_compiled


def _counted_outcome(con, definition: SuiteDefinition, expectation: dict, counts) -> ExpectationOutcome:
    meta = expectation.get("meta") or {}
    columns = checked_columns(expectation)
    failing_rows: list[dict[str, Any]] = []
    if not counts.success and counts.failing_where:
        batch_columns = [name for name, *_ in con.execute(f"select * from {BATCH_TABLE} limit 0").description]
        shown = [c for c in in_order_once(list(definition.id_columns) + columns + list(meta.get("show_columns") or []))
                 if c in batch_columns]
        cursor = con.execute(
            f"select {', '.join(identifier(c) for c in shown)} from {BATCH_TABLE} as {sql_checks.ROW} "
            f"where {counts.failing_where} order by {sql_checks.ROW}.rowid limit {MAX_FAILING_ROWS}"
        )
        failing_rows = [{c: jsonable(v) for c, v in zip(shown, row)} for row in cursor.fetchall()]
    elif not counts.success and counts.observed_is_the_failing_row:
        failing_rows = [{"observed_value": jsonable(counts.observed_value)}]
    return outcome_of(
        definition, expectation, success=counts.success, element_count=counts.element_count,
        unexpected_count=counts.unexpected_count, failing_rows=failing_rows, observed_value=counts.observed_value,
    )
