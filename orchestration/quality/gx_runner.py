"""Great Expectations itself, on pandas DataFrames of a suite's batch (with its pandas datasource,
in one ephemeral, in-memory context per layer): the reference engine, and whatever neither DuckDB
nor schema_checks.py can run. Its results are read back by position in the suite file."""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

from orchestration.quality.batch import batch_frames
from orchestration.quality.outcomes import (
    MAX_FAILING_ROWS,
    ExpectationOutcome,
    added_up,
    checked_columns,
    in_order_once,
    jsonable,
    outcome_of,
)
from orchestration.quality.suites import SuiteDefinition, to_gx_suite

_INDEX_KEY = "regenheart_index"  # put in each expectation's meta to pair GX's results with the file


def ephemeral_context():
    """An in-memory GX context: no gx/ folder, no docs site, no analytics, no progress bars."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


class LazyBatchDefinition:
    """GX's whole-DataFrame batch definition of a suite, made when first asked for a batch."""

    def __init__(self, source, name: str):
        self._source, self._name = source, name

    @functools.cached_property
    def _definition(self):
        return _whole_dataframe(_dataframe_asset(self._source(), self._name))

    def get_batch(self, **kwargs):
        return self._definition.get_batch(**kwargs)


def _dataframe_asset(source, name: str):
    try:
        return source.get_asset(name)
    except LookupError:
        return source.add_dataframe_asset(name=name)


def _whole_dataframe(asset):
    try:
        return asset.get_batch_definition("whole_table")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole_table")


def validated_on_frames(con, batch_definition, definition, sizes, chunk_cells, only) -> list[ExpectationOutcome]:
    """GX's outcomes of the expectations `only` (None: all), in file order, over DataFrames of the
    batch table a few whole partitions at a time."""
    chunks = [
        [outcome for _, outcome in sorted(validate_frame(batch_definition, definition, frame, only).items())]
        for frame in batch_frames(con, definition, sizes, chunk_cells)
    ]
    return added_up(chunks)


def validate_frame(batch_definition, definition: SuiteDefinition, frame, only=None, row_count=None) -> dict:
    """GX's outcomes on one DataFrame, by position in the suite file: of the expectations `only`
    (None: every one)."""
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    # Counts for every expectation first; then the failing rows of the failed ones only (asking GX
    # for unexpected rows of every expectation costs a quarter more time).
    results = _validate(batch, definition, only, {"result_format": "BASIC", "partial_unexpected_count": 0})
    failed = {index for index, validation in results.items() if not validation.success}
    with_rows = _validate(batch, definition, failed, {
        "result_format": "BASIC",
        "partial_unexpected_count": MAX_FAILING_ROWS,
        "include_unexpected_rows": True,
    }) if failed else {}
    id_columns = [c for c in definition.id_columns if c in frame.columns]
    return {
        index: _outcome(definition, definition.expectations[index], results[index], with_rows.get(index), id_columns,
                        len(frame) if row_count is None else row_count)
        for index in sorted(results)
    }


def _validate(batch, definition: SuiteDefinition, only, result_format) -> dict:
    """GX's results by position in the suite file (GX may return them in another order)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = batch.validate(to_gx_suite(definition, index_key=_INDEX_KEY, only=only), result_format=result_format)
    by_index = {(v.expectation_config.meta or {}).get(_INDEX_KEY): v for v in result.results}
    expected = set(range(len(definition.expectations))) if only is None else set(only)
    if missing := sorted(expected - set(by_index)):
        raise RuntimeError(f"{definition.name}: GX returned no result for expectation(s) {missing}")
    return by_index


def _outcome(definition, expectation: dict, validation, with_rows, id_columns: list[str], row_count: int):
    meta = expectation.get("meta") or {}
    columns = checked_columns(expectation)
    result = validation.result or {}
    error = _exception_message(validation.exception_info)
    raised = error is not None
    success = bool(validation.success) and not raised
    unexpected_count = result.get("unexpected_count")
    element_count = result.get("element_count", row_count)
    failing_rows: list[dict[str, Any]] = []
    observed = result.get("observed_value")
    if raised:
        failing_rows = [{"error": error}]
    elif not success:
        rows = (with_rows.result or {}).get("unexpected_rows") if with_rows is not None else None
        if isinstance(rows, list):
            import pandas as pd

            rows = pd.DataFrame(rows)
        if rows is not None and len(rows):
            shown = in_order_once(id_columns + columns + list(meta.get("show_columns") or []))
            shown = [c for c in shown if c in rows.columns]
            failing_rows = [
                {column: jsonable(value) for column, value in record.items()}
                for record in rows[shown].head(MAX_FAILING_ROWS).to_dict("records")
            ]
        elif (result.get("details") or {}).get("mismatched"):
            mismatched = result["details"]["mismatched"]
            failing_rows = [{"missing_columns": ", ".join(map(str, mismatched.get("missing") or []))}]
        elif observed is not None:
            failing_rows = [{"observed_value": jsonable(observed)}]
    return outcome_of(
        definition, expectation, success=success, element_count=element_count, unexpected_count=unexpected_count,
        failing_rows=failing_rows, observed_value=observed,
    )


def _exception_message(info) -> str | None:
    """The error GX caught for an expectation, if any: `exception_info` is either one
    {raised_exception, exception_message, ...} dict or such dicts keyed by metric."""
    if not isinstance(info, dict):
        return None
    candidates = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            message = str(candidate.get("exception_message") or "").strip()
            return message.splitlines()[0] if message else "the expectation raised an error"
    return None
