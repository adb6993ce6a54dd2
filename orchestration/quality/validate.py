"""Validating a layer: each suite's batch built (batch.py), its row-level expectations counted in
DuckDB and its schema checked on its dtypes (in_duckdb.py, sql_checks.py, schema_checks.py) or,
with engine="pandas", all of them validated by GX on DataFrames (gx_runner.py), the raw transfers
and a batch's partitions taken a bounded amount at a time (partitions.py), and the outcomes added
up into one report per suite and layer (outcomes.py).
Nothing is written to disk, nothing goes to the network.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from orchestration.quality import sql_checks
from orchestration.quality.batch import BATCH_TABLE, materialize_batch
from orchestration.quality.gx_runner import LazyBatchDefinition, ephemeral_context, validated_on_frames
from orchestration.quality.in_duckdb import validated_in_duckdb
from orchestration.quality.outcomes import (
    CRITICAL,
    ExpectationOutcome,
    LayerReport,
    SuiteReport,
    added_up,
    nothing_to_validate,
)
from orchestration.quality.partitions import CHUNK_CELLS, transfer_groups
from orchestration.quality.suites import LAYERS, SuiteDefinition, load_layer_suites

DUCKDB, PANDAS = "duckdb", "pandas"
ENGINES = (DUCKDB, PANDAS)


def validate_layer(
    con,
    layer: str,
    new_transfers: Iterable[tuple[str, str]] | None = None,
    *,
    sites: Iterable[str] | None = None,
    suites: Iterable[str] | None = None,
    expectations_dir: Path | None = None,
    chunk_cells: int = CHUNK_CELLS,
    engine: str = DUCKDB,
    severities: Iterable[str] | None = None,
    in_duckdb_only: bool = False,
) -> LayerReport:
    """Validate every suite of `layer` (expectations/<layer>/*.json) on the DuckDB connection `con`.

    raw validates only the rows of `new_transfers` ((SITEID, EXTRACT_ID) pairs): an empty list
    validates nothing and passes; None means every LOADED transfer in raw.transfer_log. The other
    layers ignore `new_transfers`. `sites` (history, staging, marts) restricts the partitioned
    suites to the rows of those sites (and rows of no site); None validates every row. Suites
    without `partition_by` are always validated whole. `suites` restricts the run to those suite
    names (or tables). The connection is only read (it may be read-only); the temporary table a
    suite's batch is held in is dropped before the next suite.

    `severities` keeps only the expectations of those severities (ingestion checks a transfer
    against the raw suites' critical ones before it commits it). `in_duckdb_only` keeps only the
    expectations counted in DuckDB (no schema check), and holds only the columns they read in the
    batch table (a narrower batch is cheaper to build).

    `engine`: "duckdb" (default) counts the row-level expectations in DuckDB (sql_checks.py) and
    checks the batch's schema on its dtypes (schema_checks.py), both with GX's meaning; "pandas"
    has GX validate every expectation on pandas DataFrames of the batch (the reference the tests
    compare the first with).
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: expected one of {', '.join(LAYERS)}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    transfers: list[tuple[str, str]] | None = None
    if layer == "raw":
        if new_transfers is None:
            transfers = [tuple(row) for row in con.execute(
                "SELECT SITEID, EXTRACT_ID FROM raw.transfer_log WHERE STATUS = 'LOADED' ORDER BY ALL"
            ).fetchall()]
        else:
            transfers = [(str(site), str(extract)) for site, extract in new_transfers]
        if not transfers:
            return LayerReport(layer, [], transfers, time.perf_counter() - started)

    definitions = load_layer_suites(layer, expectations_dir)
    if suites is not None:
        wanted = set(suites)
        definitions = [d for d in definitions if d.name in wanted or d.table in wanted]
        unknown = wanted - {d.name for d in definitions} - {d.table for d in definitions}
        if unknown:
            raise ValueError(f"no {layer} suite named {', '.join(sorted(unknown))}")
    if severities is not None or in_duckdb_only:
        def kept(expectation: dict) -> bool:
            return (severities is None or expectation.get("severity", CRITICAL) in severities) and (
                not in_duckdb_only or sql_checks.supported(expectation))

        definitions = [d for d in (_only(d, kept) for d in definitions) if d.expectations]

    # GX is imported (seconds, once per process) only when an expectation needs it
    source = functools.cache(lambda: ephemeral_context().data_sources.add_pandas(name=f"regenheart_{layer}"))
    if layer == "raw":
        # Many transfers (a first build) are read a group at a time, so that no batch query
        # materializes every transfer's rows at once.
        groups = transfer_groups(con, transfers)
        reports = [
            _merged([
                _validate_suite(con, source, definition, group, None, chunk_cells, engine, narrow=in_duckdb_only)
                for group in groups
            ])
            for definition in definitions
        ]
    else:
        site_list = None if sites is None else sorted({str(site) for site in sites})
        reports = [
            _validate_suite(con, source, definition, None, site_list, chunk_cells, engine, narrow=in_duckdb_only)
            for definition in definitions
        ]
    return LayerReport(layer, reports, transfers, time.perf_counter() - started)


def _only(definition: SuiteDefinition, kept) -> SuiteDefinition:
    expectations = [e for e in definition.expectations if kept(e)]
    return replace(definition, document={**definition.document, "expectations": expectations})


def _merged(parts: list[SuiteReport]) -> SuiteReport:
    """One suite's report from its reports on groups of transfers."""
    first = parts[0]
    broken = [part for part in parts if any(o.expectation == "batch_query" for o in part.outcomes)]
    outcomes = broken[0].outcomes if broken else added_up([part.outcomes for part in parts])
    return replace(
        first,
        outcomes=outcomes,
        row_count=sum(part.row_count for part in parts),
        seconds=sum(part.seconds for part in parts),
    )


def _validate_suite(
    con, source, definition: SuiteDefinition, transfers, sites, chunk_cells, engine, narrow: bool = False
) -> SuiteReport:
    started = time.perf_counter()
    batch_definition = LazyBatchDefinition(source, definition.name)
    try:
        # A narrow batch counted in DuckDB is built unsorted first: the counts do not depend on the
        # order, only the failing rows shown do, so it is sorted (built again) only when one fails.
        for ordered in (False, True) if narrow and engine == DUCKDB else (True,):
            sizes = materialize_batch(con, definition, transfers, sites, narrow, ordered)
            try:
                rows = sum(count for _, count in sizes)
                if sites is not None and definition.partition_by and not sizes:
                    outcomes = nothing_to_validate(definition)
                elif engine == PANDAS:
                    outcomes = validated_on_frames(con, batch_definition, definition, sizes, chunk_cells, None)
                else:
                    outcomes = validated_in_duckdb(con, batch_definition, definition, sizes, chunk_cells, rows)
            finally:
                con.execute(f"drop table if exists {BATCH_TABLE}")
            if all(outcome.success for outcome in outcomes):
                break
    except Exception as exc:  # a query that cannot run is a failed gate, not a crash
        outcome = ExpectationOutcome(
            suite=definition.name,
            expectation="batch_query",
            column=None,
            severity=CRITICAL,
            success=False,
            failing_rows=[{"error": str(exc).strip().splitlines()[0]}],
            description="The suite's batch query must run: the table or a column it reads is missing.",
        )
        return SuiteReport(definition.name, definition.table, [outcome], 0, definition.description,
                           time.perf_counter() - started)
    return SuiteReport(definition.name, definition.table, outcomes, rows, definition.description,
                       time.perf_counter() - started)
