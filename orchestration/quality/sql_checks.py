r"""A suite's row-level expectations as DuckDB SQL over the materialized batch, with GX's meaning.

GX's pandas engine costs a Python core and a pandas copy of every batch row (about 1,300 s of a
50 x 2,000 first build); the same counts are one scan in DuckDB. Each supported expectation is
compiled from its suite entry into SQL predicates with the semantics of GX 1.x's pandas engine:

- the *domain* is the rows the expectation looks at: its `row_condition`, then `ignore_row_if`
  (pairs: both / either value missing; column lists: all / any value missing);
- a column expectation ignores missing values (NULL, and NaN in a DOUBLE column), except
  `expect_column_values_to_(not_)be_null`, which counts them;
- *unexpected* is a domain row that fails the check; success is GX's `mostly` rule on the
  non-missing rows (a domain without any passes);
- uniqueness counts every row of a duplicated value or key within the domain, as pandas'
  `duplicated(keep=False)`;
- a regex is searched anywhere in the text, as pandas' `str.contains`, by DuckDB's RE2 where GX
  uses Python's `re`: the same for the suites' patterns, except that Python's `\d` and `\s` also
  match non-ASCII digits and spaces (a no-break space before a number, say) and RE2's do not.

tests/test_expectation_suites.py runs every suite through both this and GX's pandas engine on
the sample and on every broken table, and requires the same success, counts and first rows.
Expectation types not listed here are validated by GX on pandas DataFrames (gx_runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestration.sql import identifier, literal

COLUMN_MAP_TYPES = (
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
)
PAIR_MAP_TYPES = (
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_in_set",
)
UNIQUE_TYPES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
TABLE_TYPES = ("expect_table_row_count_to_be_between", "expect_column_distinct_values_to_contain_set")
SQL_TYPES = COLUMN_MAP_TYPES + PAIR_MAP_TYPES + UNIQUE_TYPES + TABLE_TYPES
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
ROW = "batch_row"  # the batch table's alias in a Counts.failing_where


@dataclass(frozen=True)
class Counts:
    """What GX reports for one expectation: its success and the counts behind it."""

    success: bool
    element_count: int | None
    unexpected_count: int | None
    failing_where: str | None = None  # the unexpected rows: a WHERE clause over the batch table AS batch_row
    observed_value: Any = None
    observed_is_the_failing_row: bool = False  # GX shows a table's row count as its failing "row"


def supported(expectation: dict) -> bool:
    return expectation.get("type") in SQL_TYPES


def evaluate(con, table: str, expectations: dict[int, dict]) -> dict[int, Counts]:
    """The Counts of the given expectations (by position in their suite) over `table`: the column
    and pair checks, and the rows each uniqueness check looks at, in one aggregate scan; each
    uniqueness check's duplicates and each table check in a query of its own."""
    types = {name: str(type_) for name, type_, *_ in con.execute(f"select * from {table} limit 0").description}
    missing = sorted({c for e in expectations.values() for c in expectation_columns(e) if c not in types})
    if missing:
        raise KeyError(f"column(s) {', '.join(missing)} not in the batch")
    compiled = {index: _compile(expectation, types) for index, expectation in expectations.items()}
    results: dict[int, Counts] = {}
    scanned = {i: c for i, c in compiled.items() if c.kind in ("rows", "unique")}
    if scanned:
        selects = []
        for check in scanned.values():
            selects += [
                f"count(*) filter (where {check.domain})",
                f"count(*) filter (where ({check.domain}) and ({check.ignored}))",
            ]
            if check.kind == "rows":
                selects.append(f"count(*) filter (where {check.considered} and ({check.unexpected}))")
        values = iter(con.execute(f"select {', '.join(selects)} from {table}").fetchone())
        for index, check in scanned.items():
            total, ignored = next(values), next(values)
            if check.kind == "rows":
                results[index] = check.counts(total, ignored, next(values), f"{check.considered} and ({check.unexpected})")
            else:
                results[index] = _uniqueness(con, table, check, total, ignored)
    for index, check in compiled.items():
        if check.kind == "table":
            results[index] = check.table_check(con, table, expectations[index])
    return results


@dataclass(frozen=True)
class _Compiled:
    kind: str  # rows | unique | table
    domain: str = "true"  # the row condition: GX's element_count counts these rows
    ignored: str = "false"  # domain rows left out of the check (missing values, ignore_row_if)
    unexpected: str = "false"
    mostly: float = 1.0
    key: tuple[str, ...] = ()
    table_check: Any = None

    @property
    def considered(self) -> str:
        return f"({self.domain}) and not ({self.ignored})"

    def counts(self, total: int, ignored: int, unexpected: int, failing_where: str) -> Counts:
        considered = total - ignored
        success = considered == 0 or (considered - unexpected) / considered >= self.mostly
        return Counts(success, total, unexpected, failing_where if unexpected else None)


def _compile(expectation: dict, types: dict[str, str]) -> _Compiled:
    kind = expectation["type"]
    kwargs = expectation.get("kwargs") or {}
    domain = _condition(kwargs.get("row_condition"), types)
    mostly = float(kwargs.get("mostly") if kwargs.get("mostly") is not None else 1.0)
    if kind in COLUMN_MAP_TYPES:
        column = kwargs["column"]
        missing = _missing(column, types)
        if kind == "expect_column_values_to_not_be_null":
            return _Compiled("rows", domain, "false", missing, mostly)
        if kind == "expect_column_values_to_be_null":
            return _Compiled("rows", domain, "false", f"not ({missing})", mostly)
        return _Compiled("rows", domain, missing, f"not coalesce({_column_check(kind, kwargs, column, types)}, false)", mostly)
    if kind in PAIR_MAP_TYPES:
        a, b = kwargs["column_A"], kwargs["column_B"]
        ignore = kwargs.get("ignore_row_if") or "both_values_are_missing"
        missing_a, missing_b = _missing(a, types), _missing(b, types)
        dropped = {
            "both_values_are_missing": f"({missing_a}) and ({missing_b})",
            "either_value_is_missing": f"({missing_a}) or ({missing_b})",
            "neither": "false",
        }[ignore]
        return _Compiled("rows", domain, dropped, f"not coalesce({_pair_check(kind, kwargs, a, b, types)}, false)", mostly)
    if kind in UNIQUE_TYPES:
        if kind == "expect_column_values_to_be_unique":
            key = (kwargs["column"],)
            dropped = _missing(key[0], types)
        else:
            key = tuple(kwargs["column_list"])
            ignore = kwargs.get("ignore_row_if") or "all_values_are_missing"
            joiner = {"all_values_are_missing": " and ", "any_value_is_missing": " or ", "never": None}[ignore]
            dropped = "false" if joiner is None else joiner.join(f"({_missing(c, types)})" for c in key)
        return _Compiled("unique", domain, dropped, mostly=mostly, key=key)
    if kind == "expect_table_row_count_to_be_between":
        return _Compiled("table", table_check=_row_count)
    if kind == "expect_column_distinct_values_to_contain_set":
        return _Compiled("table", domain, table_check=_distinct_values_contain)
    raise ValueError(f"{kind} is not validated in DuckDB")


def expectation_columns(expectation: dict) -> list[str]:
    kwargs = expectation.get("kwargs") or {}
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    return columns + list(kwargs.get("column_list") or []) + _condition_columns(kwargs.get("row_condition"))


def _condition_columns(condition) -> list[str]:
    if not condition:
        return []
    if condition.get("type") in ("and", "or"):
        return [c for part in condition["conditions"] for c in _condition_columns(part)]
    return [condition["column"]["name"]]


def _column_check(kind: str, kwargs: dict, column: str, types: dict[str, str]) -> str:
    """The check of one non-missing value (NULL where pandas' comparison would be False)."""
    name = identifier(column)
    if kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        members = _in_list(name, kwargs.get("value_set"), types[column])
        return members if kind.endswith("_be_in_set") and "not_be" not in kind else f"not ({members})"
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{name} {'>' if kwargs.get('strict_min') else '>='} {literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{name} {'<' if kwargs.get('strict_max') else '<='} {literal(kwargs['max_value'])}")
        if not bounds:
            raise ValueError("min_value and max_value cannot both be None")
        return " and ".join(bounds)
    if kind == "expect_column_values_to_match_regex":
        # pandas: column.astype(str).str.contains(regex), a search anywhere in the text
        return f"regexp_matches({name}::varchar, {literal(kwargs['regex'])})"
    raise ValueError(kind)


def _pair_check(kind: str, kwargs: dict, a: str, b: str, types: dict[str, str]) -> str:
    column_a, column_b = identifier(a), identifier(b)
    if kind == "expect_column_pair_values_to_be_equal":
        return f"{column_a} = {column_b}"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        return f"{column_a} {'>=' if kwargs.get('or_equal') else '>'} {column_b}"
    pairs = [f"({column_a} = {literal(x)} and {column_b} = {literal(y)})" for x, y in kwargs["value_pairs_set"]]
    return " or ".join(pairs) or "false"


def _in_list(name: str, values, duckdb_type: str) -> str:
    """`name IN (...)` with the values pandas' isin could match in a column of that type."""
    if values is None:
        return "true"
    family = _family(duckdb_type)
    usable = [v for v in values if _value_family(v) == family or (family == "number" and _value_family(v) == "number")]
    if not usable:
        return "false"
    return f"{name} in ({', '.join(literal(v) for v in usable)})"


def _family(duckdb_type: str) -> str:
    if duckdb_type in _INTEGER_TYPES or duckdb_type in _FLOAT_TYPES or duckdb_type.startswith("DECIMAL"):
        return "number"
    return {"VARCHAR": "text", "BOOLEAN": "boolean"}.get(duckdb_type, duckdb_type)


def _value_family(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _missing(column: str, types: dict[str, str]) -> str:
    """What pandas calls missing: NULL, and NaN in a floating-point column."""
    name = identifier(column)
    return f"({name} is null or isnan({name}))" if types.get(column) in _FLOAT_TYPES else f"{name} is null"


def _condition(condition, types: dict[str, str]) -> str:
    """A GX row condition (comparison, nullity, and/or) as SQL; a row where it is unknown is out."""
    if not condition:
        return "true"
    kind = condition.get("type")
    if kind in ("and", "or"):
        return "(" + f" {kind} ".join(_condition(part, types) for part in condition["conditions"]) + ")"
    column = condition["column"]["name"]
    if kind == "nullity":
        missing = _missing(column, types)
        return missing if condition["is_null"] else f"not {missing}"
    if kind == "comparison":
        operator, parameter = condition["operator"], condition["parameter"]
        if operator in ("IN", "NOT_IN"):
            members = _in_list(identifier(column), parameter, types[column])
            return f"coalesce({members if operator == 'IN' else f'not ({members})'}, false)"
        sql_operator = {"==": "=", "!=": "<>"}.get(operator, operator)
        if sql_operator not in ("=", "<>", "<", "<=", ">", ">="):
            raise ValueError(f"row condition operator {operator!r}")
        return f"coalesce({identifier(column)} {sql_operator} {literal(parameter)}, false)"
    raise ValueError(f"row condition {condition!r} is not validated in DuckDB")


def _uniqueness(con, table: str, check: _Compiled, total: int, ignored: int) -> Counts:
    """Every considered row whose value (key) another considered row has is unexpected; NULLs are
    equal to each other here, as in pandas' duplicated(). `total` and `ignored`: the domain's rows
    and those of them left out."""
    key = ", ".join(identifier(column) for column in check.key)
    duplicated = f"select {key} from {table} where {check.considered} group by {key} having count(*) > 1"
    unexpected = con.execute(
        f"select coalesce(sum(n), 0) from (select count(*) as n from {table} where {check.considered} "
        f"group by {key} having count(*) > 1)"
    ).fetchone()[0]
    same_key = " and ".join(f"duplicated.{identifier(c)} is not distinct from {ROW}.{identifier(c)}" for c in check.key)
    failing = f"{check.considered} and exists (select 1 from ({duplicated}) as duplicated where {same_key})"
    return check.counts(total, ignored, unexpected, failing)


def _row_count(con, table: str, expectation: dict) -> Counts:
    kwargs = expectation.get("kwargs") or {}
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    success = (low is None or rows >= low) and (high is None or rows <= high)
    return Counts(success, rows, None, observed_value=rows, observed_is_the_failing_row=True)


def _distinct_values_contain(con, table: str, expectation: dict) -> Counts:
    kwargs = expectation.get("kwargs") or {}
    column = kwargs["column"]
    values = sorted(
        (value for (value,) in con.execute(f"select distinct {identifier(column)} from {table} where {identifier(column)} is not null").fetchall()),
        key=str,
    )
    success = set(kwargs.get("value_set") or ()) <= set(values)
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return Counts(success, rows, None, observed_value=values)


