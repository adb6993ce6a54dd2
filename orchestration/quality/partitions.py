"""How much is validated at once: raw transfers grouped for one batch query, and a batch's
partitions grouped into DataFrames of bounded size for GX."""

from __future__ import annotations

from typing import Any

CHUNK_CELLS = 4_000_000  # rows x columns of one DataFrame: some hundreds of MB of pandas objects
RAW_GROUP_ROWS = 5_000_000  # rows (all files) of the transfers one raw batch query reads


def transfer_groups(con, transfers: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
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
    return partition_groups([(transfer, rows.get(transfer, 0)) for transfer in transfers], RAW_GROUP_ROWS)


def partition_groups(sizes: list[tuple[Any, int]], max_rows: int) -> list[list[Any]]:
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
