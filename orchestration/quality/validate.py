"""Running a layer's suites against the warehouse and reporting what failed, row by row.

Each suite's `meta.batch_query` runs once into a DuckDB temporary table. Its row-level
expectations are counted there, in SQL with GX's meaning (sql_checks.py); GX, with its pandas
datasource in one ephemeral (in-memory) GX context per call, checks the batch's schema on its
zero-row DataFrame, and validates on DataFrames whatever DuckDB cannot run. Nothing is written to
disk, nothing goes to the network.

With engine="pandas" GX validates every expectation on DataFrames (the reference the tests compare
with). A suite with `meta.partition_by` (its rows' site, or transfer) then goes to pandas a chunk
of whole partitions at a time, at most CHUNK_CELLS cells (rows x columns; one partition may exceed
it) per DataFrame, and the results of the chunks are added up per expectation.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

import duckdb

from orchestration.quality import sql_checks
from orchestration.sql import identifier, literal
from orchestration.quality.suites import (
    LAYERS,
    SuiteDefinition,
    load_layer_suites,
    to_gx_suite,
)
from orchestration.settings import DBT_PROJECT_DIR

MAX_FAILING_ROWS = 5
CHUNK_CELLS = 4_000_000  # rows x columns of one DataFrame: some hundreds of MB of pandas objects
RAW_GROUP_ROWS = 5_000_000  # rows (all files) of the transfers one raw batch query reads
_BATCH_TABLE = "regenheart_gx_batch"
_PARTITION = "regenheart_gx_partition"
CRITICAL, WARNING = "critical", "warning"
DUCKDB, PANDAS = "duckdb", "pandas"
ENGINES = (DUCKDB, PANDAS)
SCHEMA_TYPES = ("expect_column_type_to_be", "expect_table_columns_to_match_set")  # GX, on the batch's dtypes
_COLUMN_KWARGS = ("column", "column_A", "column_B")
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
_SEED_PARAMETER = re.compile(r"\$seed_(\w+)")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_INDEX_KEY = "regenheart_index"  # put in each expectation's meta to pair GX's results with the file


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
    expectations counted in DuckDB (no schema check, no GX import), and holds only the columns
    they read in the batch table (a narrower batch is cheaper to build).

    `engine`: "duckdb" (default) counts the row-level expectations in DuckDB (sql_checks.py) and has
    GX check the batch's schema; "pandas" has GX validate every expectation on pandas DataFrames of
    the batch (the reference the tests compare the first with).
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
    source = functools.cache(lambda: _ephemeral_context().data_sources.add_pandas(name=f"regenheart_{layer}"))
    if layer == "raw":
        # Many transfers (a first build) are read a group at a time, so that no batch query
        # materializes every transfer's rows at once.
        groups = _transfer_groups(con, transfers)
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


def _transfer_groups(con, transfers: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Consecutive transfers grouped by their manifest's row count (all files), at most
    RAW_GROUP_ROWS a group (a bigger transfer is a group of its own)."""
    rows = dict(
        ((site, extract), total)
        for site, extract, total in con.execute(
            "SELECT SITEID, EXTRACT_ID, coalesce(list_sum(list_transform("
            "from_json(MANIFEST -> 'files', '[{\"rows\": \"BIGINT\"}]'), lambda f: f.rows)), 0) "
            "FROM raw.transfer_log"
        ).fetchall()
    )
    return _partition_groups([(transfer, rows.get(transfer, 0)) for transfer in transfers], RAW_GROUP_ROWS)


def _merged(parts: list[SuiteReport]) -> SuiteReport:
    """One suite's report from its reports on groups of transfers."""
    first = parts[0]
    broken = [part for part in parts if any(o.expectation == "batch_query" for o in part.outcomes)]
    outcomes = broken[0].outcomes if broken else _added_up([part.outcomes for part in parts])
    return replace(
        first,
        outcomes=outcomes,
        row_count=sum(part.row_count for part in parts),
        seconds=sum(part.seconds for part in parts),
    )


def _ephemeral_context():
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


def _validate_suite(
    con, source, definition: SuiteDefinition, transfers, sites, chunk_cells, engine, narrow: bool = False
) -> SuiteReport:
    started = time.perf_counter()
    batch_definition = _LazyBatchDefinition(source, definition.name)
    try:
        # A narrow batch counted in DuckDB is built unsorted first: the counts do not depend on the
        # order, only the failing rows shown do, so it is sorted (built again) only when one fails.
        for ordered in (False, True) if narrow and engine == DUCKDB else (True,):
            sizes = _materialize_batch(con, definition, transfers, sites, narrow, ordered)
            try:
                rows = sum(count for _, count in sizes)
                if sites is not None and definition.partition_by and not sizes:
                    outcomes = _nothing_to_validate(definition)
                elif engine == PANDAS:
                    outcomes = _validated_on_frames(con, batch_definition, definition, sizes, chunk_cells, None)
                else:
                    outcomes = _validated_in_duckdb(con, batch_definition, definition, sizes, chunk_cells, rows)
            finally:
                con.execute(f"drop table if exists {_BATCH_TABLE}")
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


def _validated_in_duckdb(con, batch_definition, definition: SuiteDefinition, sizes, chunk_cells, rows: int):
    """Row-level expectations counted in DuckDB; the schema ones by GX on the batch's zero-row
    DataFrame (its dtypes); any other type by GX on DataFrames of the batch."""
    in_sql = {i: e for i, e in enumerate(definition.expectations) if sql_checks.supported(e)}
    schema = {i for i, e in enumerate(definition.expectations) if e["type"] in SCHEMA_TYPES}
    on_frames = set(range(len(definition.expectations))) - set(in_sql) - schema
    outcomes: dict[int, ExpectationOutcome] = {}
    if schema:
        frame = _frame(con.execute(f"select * exclude ({_PARTITION}) from {_BATCH_TABLE} limit 0"))
        outcomes.update(_validate_frame(batch_definition, definition, frame, schema, row_count=rows))
    counts, not_compiled = _counted_in_duckdb(con, in_sql)
    on_frames |= not_compiled
    for index, count in counts.items():
        outcomes[index] = _counted_outcome(con, definition, in_sql[index], count)
    if on_frames:
        outcomes.update(zip(sorted(on_frames), _validated_on_frames(
            con, batch_definition, definition, sizes, chunk_cells, on_frames)))
    return [outcomes[index] for index in range(len(definition.expectations))]


def _counted_in_duckdb(con, expectations: dict[int, dict]) -> tuple[dict, set[int]]:
    """The Counts of the expectations DuckDB can run, and the positions of those it cannot (a
    column missing from the batch, or of another type than the check needs): GX runs those, and
    reports them as it always has."""
    try:
        return sql_checks.evaluate(con, _BATCH_TABLE, expectations), set()
    except (duckdb.Error, KeyError, ValueError):
        counts, not_compiled = {}, set()
        for index, expectation in expectations.items():
            try:
                counts.update(sql_checks.evaluate(con, _BATCH_TABLE, {index: expectation}))
            except (duckdb.Error, KeyError, ValueError):
                not_compiled.add(index)
        return counts, not_compiled


def _counted_outcome(con, definition: SuiteDefinition, expectation: dict, counts) -> ExpectationOutcome:
    kwargs = expectation.get("kwargs") or {}
    meta = expectation.get("meta") or {}
    columns = [kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)] + list(kwargs.get("column_list") or [])
    failing_rows: list[dict[str, Any]] = []
    if not counts.success and counts.failing_where:
        batch_columns = [name for name, *_ in con.execute(f"select * from {_BATCH_TABLE} limit 0").description]
        shown = [c for c in _unique(list(definition.id_columns) + columns + list(meta.get("show_columns") or []))
                 if c in batch_columns]
        cursor = con.execute(
            f"select {', '.join(identifier(c) for c in shown)} from {_BATCH_TABLE} as {sql_checks.ROW} "
            f"where {counts.failing_where} order by {sql_checks.ROW}.rowid limit {MAX_FAILING_ROWS}"
        )
        failing_rows = [{c: _jsonable(v) for c, v in zip(shown, row)} for row in cursor.fetchall()]
    elif not counts.success and counts.observed_is_the_failing_row:
        failing_rows = [{"observed_value": _jsonable(counts.observed_value)}]
    return ExpectationOutcome(
        suite=definition.name,
        expectation=expectation_id(expectation),
        column=", ".join(columns) or None,
        severity=expectation.get("severity", CRITICAL),
        success=counts.success,
        element_count=counts.element_count,
        unexpected_count=counts.unexpected_count,
        failing_rows=failing_rows,
        description=meta.get("description", ""),
        observed_value=_jsonable(counts.observed_value),
    )


def _validated_on_frames(con, batch_definition, definition, sizes, chunk_cells, only) -> list[ExpectationOutcome]:
    """GX's outcomes of the expectations `only` (None: all), in file order, over DataFrames of the
    batch table a few whole partitions at a time."""
    chunks = [
        [outcome for _, outcome in sorted(_validate_frame(batch_definition, definition, frame, only).items())]
        for frame in _batch_frames(con, definition, sizes, chunk_cells)
    ]
    return _added_up(chunks)


class _LazyBatchDefinition:
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


def _validate_frame(batch_definition, definition: SuiteDefinition, frame, only=None, row_count=None) -> dict:
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


def _added_up(chunks: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
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


def _nothing_to_validate(definition: SuiteDefinition) -> list[ExpectationOutcome]:
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


def _materialize_batch(
    con, definition: SuiteDefinition, transfers, sites, narrow: bool = False, ordered: bool = True
) -> list[tuple[str, int]]:
    """Run the suite's batch query once into a temporary table (rows of the given sites only, when
    `sites` is a list and the suite is partitioned) and return its partitions' row counts. A
    `narrow` batch keeps only the columns the expectations and the failure reports read, and
    without `ordered` its rows are not sorted by the query's ORDER BY."""
    query = definition.batch_query
    parameters = query_parameters(query, transfers)
    # rows without a site (partition NULL) are always validated: they belong to no one site
    partition = f"coalesce(({definition.partition_by})::varchar, '')" if definition.partition_by else "''"
    where = ""
    if sites is not None and definition.partition_by:
        where = f"where {partition} in (select unnest($regenheart_sites::varchar[]))"
        parameters["regenheart_sites"] = ["", *sites]
        query = _own_table_scoped(query, definition.table, where)
    columns = "*"
    if narrow:
        read = _read_names(definition)
        columns = _columns_named(read)
        query = _without_unread_columns(con, query, read, ordered)
    con.execute(
        f"create or replace temporary table {_BATCH_TABLE} as "
        f"select {columns}, {partition} as {_PARTITION} from (\n{query}\n) as batch {where}",
        parameters,
    )
    return con.execute(f"select {_PARTITION}, count(*) from {_BATCH_TABLE} group by all order by all").fetchall()


def _read_names(definition: SuiteDefinition) -> frozenset[str]:
    """The batch columns the expectations and the failure reports read."""
    read = {*definition.id_columns}
    for expectation in definition.expectations:
        read.update(sql_checks.expectation_columns(expectation), (expectation.get("meta") or {}).get("show_columns") or ())
    return frozenset(read)


def _columns_named(read: frozenset[str]) -> str:
    """The select list of the batch columns `read` (those the batch has: a missing one is reported
    by the expectation that reads it)."""
    return f"columns(lambda name: name in ({', '.join(literal(c) for c in sorted(read))}))" if read else "*"


def _without_unread_columns(con, query: str, read: frozenset[str], ordered: bool = True) -> str:
    """The batch query without the derived columns of its final select list that no column in
    `read` is: DuckDB drops an unused column but still runs the joins and subqueries behind it (the
    code-list lookups, the exists-joins to dm). The same rows, in the same order, with the same
    values in every column kept; without `ordered`, also without its final ORDER BY (when it has no
    LIMIT), so the same rows unsorted. The query itself when it is not one plain SELECT or a kept
    part of it (its filters, order, another column) refers to a dropped column."""
    key = (query, read, ordered)
    if key not in _narrowed_queries:
        _narrowed_queries[key] = _narrowed(con, query, read, ordered)
    return _narrowed_queries[key]


_narrowed_queries: dict[tuple[str, frozenset[str], bool], str] = {}


def _narrowed(con, query: str, read: frozenset[str], ordered: bool) -> str:
    try:
        tree = json.loads(con.execute("select json_serialize_sql(?)", [query]).fetchone()[0])
        if tree.get("error") or len(tree["statements"]) != 1:
            return query
        node = tree["statements"][0]["node"]
        if node.get("type") != "SELECT_NODE":
            return query
        kept = [e for e in node["select_list"] if e.get("class") == "STAR" or e.get("alias") in read]
        dropped = {e.get("alias") for e in node["select_list"] if e not in kept}
        if not dropped or "" in dropped or None in dropped:
            return query
        node["select_list"] = kept
        if dropped & _column_references({k: v for k, v in node.items() if k != "cte_map"}):
            return query
        if not ordered and all(m.get("type") == "ORDER_MODIFIER" for m in node["modifiers"]):
            node["modifiers"] = []
        return con.execute("select json_deserialize_sql(?)", [json.dumps(tree)]).fetchone()[0]
    except (duckdb.Error, KeyError, TypeError, ValueError):
        return query


def _column_references(tree: Any) -> set[str]:
    """Every column name a serialized SQL expression tree refers to (by its last part)."""
    if isinstance(tree, list):
        return {name for item in tree for name in _column_references(item)}
    if not isinstance(tree, dict):
        return set()
    names = {tree["column_names"][-1]} if tree.get("class") == "COLUMN_REF" and tree.get("column_names") else set()
    return names.union(*(_column_references(value) for value in tree.values()))


def _own_table_scoped(query: str, table: str, where: str) -> str:
    """The batch query reading its own table's rows of the validated sites only (filtered before
    the query's sorts, windows and joins, not after them): every `from <table> [as alias]` becomes
    `from (select * from <table> <where>) as alias`. A partitioned suite's query computes a row
    from rows of the same partition (same site), so its rows of those sites are the same."""
    alias = table.rsplit(".", 1)[-1]

    def scoped(match: re.Match) -> str:
        return f"from (select * from {table} {where}) as {match.group(1) or alias}"

    return re.compile(rf"\bfrom\s+{re.escape(table)}\b(?:\s+as\s+(\w+))?", re.IGNORECASE).sub(scoped, query)


def _batch_frames(con, definition: SuiteDefinition, sizes, chunk_cells) -> Iterator[Any]:
    """The batch table as DataFrames of whole partitions, at most `chunk_cells` cells each (a bigger
    partition is a DataFrame of its own); an empty table is one empty DataFrame."""
    width = len(con.execute(f"select * from {_BATCH_TABLE} limit 0").description)
    groups = _partition_groups(sizes, max(1, chunk_cells // width)) or [[]]
    for group in groups:
        yield _frame(con.execute(
            f"select * exclude ({_PARTITION}) from {_BATCH_TABLE} "
            f"where {_PARTITION} in (select unnest($partitions::varchar[])) order by rowid",
            {"partitions": group},
        ))


def _partition_groups(sizes: list[tuple[Any, int]], max_rows: int) -> list[list[Any]]:
    """Consecutive partitions (or transfers) grouped so that a group has at most `max_rows` rows
    (one larger than that is a group of its own)."""
    groups: list[list[Any]] = []
    rows = 0
    for partition, count in sizes:
        if not groups or rows + count > max_rows:
            groups.append([])
            rows = 0
        groups[-1].append(partition)
        rows += count
    return groups


def _frame(cursor):
    import pandas as pd

    duckdb_types = {name: str(type_) for name, type_, *_ in cursor.description}
    frame = cursor.df()
    # A column's pandas dtype must not depend on its data: DuckDB gives an integer (boolean) column
    # a numpy dtype when it holds no NULL and a nullable one otherwise, and a VARCHAR column of
    # NULLs only comes as object. Make integers and booleans nullable, and text always `str`.
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            continue
        if dtype.kind in "iu":
            frame[name] = frame[name].astype(f"{'U' if dtype.kind == 'u' else ''}Int{dtype.itemsize * 8}")
        elif dtype.kind == "b":
            frame[name] = frame[name].astype("boolean")
        elif dtype.kind == "O" and duckdb_types.get(name) == "VARCHAR":
            frame[name] = frame[name].astype("str")
    return frame


def query_parameters(query: str, transfers) -> dict[str, Any]:
    """The named parameters a batch query uses: `$new_sites` / `$new_extracts` (the transfers to
    validate, zipped pairwise) and `$seed_<name>` (the path of dbt seed <name>.csv, for the raw
    layer, which is validated before dbt loads the seeds into the reference schema)."""
    query = _LINE_COMMENT.sub("", query)  # DuckDB rejects a parameter the query does not use
    parameters: dict[str, Any] = {}
    if "$new_sites" in query or "$new_extracts" in query:
        transfers = transfers or []
        parameters["new_sites"] = [site for site, _ in transfers]
        parameters["new_extracts"] = [extract for _, extract in transfers]
    for name in sorted(set(_SEED_PARAMETER.findall(query))):
        path = SEEDS_DIR / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"the batch query reads seed {name}, but {path} does not exist")
        parameters[f"seed_{name}"] = str(path)
    return parameters


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


def expectation_id(expectation: dict) -> str:
    """A short readable id: `type(columns)`, with its row condition when it has one."""
    kwargs = expectation.get("kwargs") or {}
    columns = [kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
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


def _outcome(definition, expectation: dict, validation, with_rows, id_columns: list[str], row_count: int):
    kwargs = expectation.get("kwargs") or {}
    meta = expectation.get("meta") or {}
    columns = [kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)] + list(kwargs.get("column_list") or [])
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
            shown = _unique(id_columns + columns + list(meta.get("show_columns") or []))
            shown = [c for c in shown if c in rows.columns]
            failing_rows = [
                {column: _jsonable(value) for column, value in record.items()}
                for record in rows[shown].head(MAX_FAILING_ROWS).to_dict("records")
            ]
        elif (result.get("details") or {}).get("mismatched"):
            mismatched = result["details"]["mismatched"]
            failing_rows = [{"missing_columns": ", ".join(map(str, mismatched.get("missing") or []))}]
        elif observed is not None:
            failing_rows = [{"observed_value": _jsonable(observed)}]
    return ExpectationOutcome(
        suite=definition.name,
        expectation=expectation_id(expectation),
        column=", ".join(columns) or None,
        severity=expectation.get("severity", CRITICAL),
        success=success,
        element_count=element_count,
        unexpected_count=unexpected_count,
        failing_rows=failing_rows,
        description=meta.get("description", ""),
        observed_value=_jsonable(observed),
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


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def _jsonable(value: Any) -> Any:
    """Plain Python values for reports: no numpy scalars, NaN/NaT as None, timestamps as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
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
