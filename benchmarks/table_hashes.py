"""A content hash of every table of a published warehouse, to show a change left the data as it was.

    .venv/bin/python benchmarks/table_hashes.py data/warehouse.duckdb [other.duckdb]

Per table: its row count and the sum of a 64-bit hash of each row's text (DuckDB's VARCHAR cast of
the row: every column, doubles in their shortest exact form, so one bit of difference shows).
The sum does not depend on row order. Columns that hold when a run happened (LOADED_AT) are left
out: two runs on the same transfers differ there and nowhere else. With two files, prints the
tables that differ and exits 1 if any does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "history", "sdtm", "adam")
RUN_TIME_COLUMNS = ("LOADED_AT",)


def table_hashes(database: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN (SELECT unnest(?::varchar[])) AND table_type = 'BASE TABLE' ORDER BY ALL",
            [list(SCHEMAS)],
        ).fetchall()
        return {
            f"{schema}.{table}": tuple(con.execute(
                f"SELECT count(*), coalesce(sum(hash(t::varchar)::hugeint), 0) "
                f'FROM (SELECT COLUMNS(lambda c: c NOT IN {RUN_TIME_COLUMNS!r}) FROM {schema}."{table}") AS t'
            ).fetchone())
            for schema, table in tables
        }


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    hashes = [table_hashes(Path(path)) for path in argv]
    if len(hashes) == 1:
        for table, (rows, digest) in hashes[0].items():
            print(f"{table}\t{rows}\t{digest:x}")
        return 0
    first, second = hashes
    differing = sorted(t for t in first.keys() | second.keys() if first.get(t) != second.get(t))
    for table in sorted(first.keys() | second.keys()):
        state = "DIFFERS" if table in differing else "same"
        print(f"{table}\t{state}\t{first.get(table)}\t{second.get(table)}")
    print(f"{len(differing)} of {len(first.keys() | second.keys())} tables differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
