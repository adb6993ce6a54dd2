"""The order the exports write a mart's rows in: its model's ORDER BY.

A full build leaves a mart in that order, but the incremental build and publication append a
changed site's rows at the end of a table, so the exports sort: the same data, the same files.
A mart whose model has no ORDER BY is written in the table's order.
"""

ROW_ORDER = {
    "adsl": "SITEID, SUBJID",
    "adeff": "USUBJID, PARAMN, ADT, PREINFFL NULLS LAST",
    "adae": "USUBJID, ASTDT NULLS LAST, ASTDTM NULLS LAST, AESPID, SRCRECID",
    "subject_visits": "USUBJID, AVISITN",
    "extract_log": "SITEID, EXTRACT_ID",
}


def ordered(select: str, table: str) -> str:
    """`select` (a query of the mart `table`) with the mart's row order."""
    order = ROW_ORDER.get(table)
    return f"{select} ORDER BY {order}" if order else select
