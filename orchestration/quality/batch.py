"""A suite's batch: its `meta.batch_query` run once into a DuckDB temporary table, with the
partition (site, or raw transfer) of each row, and read back as pandas DataFrames a few whole
partitions at a time.

A partitioned suite of history, staging or marts scopes its own table to the `$sites` list
parameter in its query (`where $sites::varchar[] is null or coalesce(SITEID, '') in (select
unnest($sites::varchar[]))`): the sites to validate, '' standing for rows of no site; NULL (the
whole table) on a full validation.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import duckdb

from orchestration.quality import sql_checks
from orchestration.quality.partitions import partition_groups
from orchestration.quality.suites import SITES_PARAMETER, SuiteDefinition
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.sql import literal

BATCH_TABLE = "regenheart_gx_batch"
PARTITION = "regenheart_gx_partition"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
_SEED_PARAMETER = re.compile(r"\$seed_(\w+)")
_LINE_COMMENT = re.compile(r"--[^\n]*")


def materialize_batch(
    con, definition: SuiteDefinition, transfers, sites, narrow: bool = False, ordered: bool = True
) -> list[tuple[str, int]]:
    """Run the suite's batch query once into a temporary table (rows of the given sites only, when
    `sites` is a list and the suite is partitioned) and return its partitions' row counts. A
    `narrow` batch keeps only the columns the expectations and the failure reports read, and
    without `ordered` its rows are not sorted by the query's ORDER BY."""
    scoped = sites is not None and definition.partition_by
    query = definition.batch_query
    parameters = query_parameters(query, transfers, sites if scoped else None)
    # rows without a site (partition NULL) are always validated: they belong to no one site
    partition = f"coalesce(({definition.partition_by})::varchar, '')" if definition.partition_by else "''"
    # the query scopes its own table to $sites (before its sorts, windows and joins); this keeps out
    # the rows of other sites it reads from elsewhere
    where = f"where {partition} in (select unnest(${SITES_PARAMETER}::varchar[]))" if scoped else ""
    columns = "*"
    if narrow:
        read = _read_names(definition)
        columns = _columns_named(read)
        query = _without_unread_columns(con, query, read, ordered)
    con.execute(
        f"create or replace temporary table {BATCH_TABLE} as "
        f"select {columns}, {partition} as {PARTITION} from (\n{query}\n) as batch {where}",
        parameters,
    )
    return con.execute(f"select {PARTITION}, count(*) from {BATCH_TABLE} group by all order by all").fetchall()


def query_parameters(query: str, transfers, sites: list[str] | None = None) -> dict[str, Any]:
    """The named parameters a batch query uses: `$new_sites` / `$new_extracts` (the transfers to
    validate, zipped pairwise), `$sites` (the sites to validate, with '' for rows of no site; NULL:
    every row) and `$seed_<name>` (the path of dbt seed <name>.csv, for the raw layer, which is
    validated before dbt loads the seeds into the reference schema)."""
    query = _LINE_COMMENT.sub("", query)  # DuckDB rejects a parameter the query does not use
    parameters: dict[str, Any] = {}
    if "$new_sites" in query or "$new_extracts" in query:
        transfers = transfers or []
        parameters["new_sites"] = [site for site, _ in transfers]
        parameters["new_extracts"] = [extract for _, extract in transfers]
    if f"${SITES_PARAMETER}" in query:
        parameters[SITES_PARAMETER] = None if sites is None else ["", *sites]
    for name in sorted(set(_SEED_PARAMETER.findall(query))):
        path = SEEDS_DIR / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"the batch query reads seed {name}, but {path} does not exist")
        parameters[f"seed_{name}"] = str(path)
    return parameters


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


def batch_frames(con, definition: SuiteDefinition, sizes, chunk_cells) -> Iterator[Any]:
    """The batch table as DataFrames of whole partitions, at most `chunk_cells` cells each (a bigger
    partition is a DataFrame of its own); an empty table is one empty DataFrame."""
    width = len(con.execute(f"select * from {BATCH_TABLE} limit 0").description)
    groups = partition_groups(sizes, max(1, chunk_cells // width)) or [[]]
    for group in groups:
        yield dataframe(con.execute(
            f"select * exclude ({PARTITION}) from {BATCH_TABLE} "
            f"where {PARTITION} in (select unnest($partitions::varchar[])) order by rowid",
            {"partitions": group},
        ))


def dataframe(cursor):
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
