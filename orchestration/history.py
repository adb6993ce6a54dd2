"""Record history across a site's cumulative transfers: every version of every record, kept forever.

`history.<file>` holds each distinct version of each record (key SITEID + RECID) with VALID_FROM,
the first transfer that held that version, and VALID_TO, the first later transfer that no longer
did (NULL while current). A record deleted in the EDC keeps its last version, closed.

History is built from raw by replaying a site's new transfers one at a time in extract-id order,
each in one transaction with its row in `history.transfers`. Two transfers of a site loaded in
the same refresh are therefore both historised, in order. A transfer older than one already
historised (a late delivery) makes the site's history be replayed from its first transfer.
Sites without any history yet (a first build, `--rebuild-history`, a replayed site) are
historised all at once, one query per file and one transaction: a run of consecutive transfers
holding a record with the same content is one version. That gives the versions the replay gives
(tests/test_history.py compares them), at a fraction of the cost on a first build.

Versions are compared on the file's DTS columns as the warehouse reads them: trimmed, blank as
NULL, and a number written with a decimal comma (a `,` transfer) with a point, so `27,5` and `27.5`
are one value and a change of the site's export settings is not a data change. The stored values
are those normalised texts. History holds the DTS columns only: an extra column a site sends stays
in raw (DTS section 3: kept in raw, ignored downstream), so that nothing outside the DTS, such as a
patient's name, reaches the published file. Rows without a RECID cannot be followed across transfers: each
distinct content of them is a record of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb

from orchestration import dts
from orchestration.sql import identifier, literal, qualified
from orchestration.warehouse import RAW_SCHEMA, ensure_raw_layer, table_columns

HISTORY_SCHEMA = "history"
TRANSFERS_TABLE = f"{HISTORY_SCHEMA}.transfers"
VERSION_COLUMNS = ("VALID_FROM", "VALID_TO", "SOURCE_LINE", "ROW_HASH")
_INCOMING = "_incoming_versions"
HISTORY_PART_ROWS = 5_000_000  # raw rows of a file historised in one query (_historise_file_in_parts)
# A number under a `,` decimal separator, possibly behind a `<`/`>` limit (lb.LBORRES).
_COMMA_NUMBER = r"[<>]?\s*[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?"


@dataclass
class HistoryReport:
    historised: list[tuple[str, str]] = field(default_factory=list)
    replayed_sites: list[str] = field(default_factory=list)
    changes_by_file: dict[str, tuple[int, int]] = field(default_factory=dict)  # (opened, closed)

    def add_changes(self, changes: dict[str, tuple[int, int]]) -> None:
        """Add a step's (opened, closed) versions per file to the totals."""
        for domain, (opened, closed) in changes.items():
            before = self.changes_by_file.get(domain, (0, 0))
            self.changes_by_file[domain] = (before[0] + opened, before[1] + closed)

    @property
    def versions_opened(self) -> int:
        return sum(opened for opened, _ in self.changes_by_file.values())

    @property
    def versions_closed(self) -> int:
        return sum(closed for _, closed in self.changes_by_file.values())


def ensure_history_layer(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_layer(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {TRANSFERS_TABLE} (
            SITEID VARCHAR NOT NULL, EXTRACT_ID VARCHAR NOT NULL, PRIMARY KEY (SITEID, EXTRACT_ID))"""
    )
    for domain in dts.DTS_FILES:
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {qualified(HISTORY_SCHEMA, domain)} (
                SITEID VARCHAR NOT NULL, RECID VARCHAR,
                {", ".join(f"{identifier(c)} VARCHAR" for c in _file_columns(domain))},
                VALID_FROM VARCHAR NOT NULL, VALID_TO VARCHAR, SOURCE_LINE BIGINT NOT NULL,
                ROW_HASH VARCHAR NOT NULL)"""
        )
        _drop_extra_columns(con, domain)


def history_columns(domain: str) -> list[str]:
    """The columns of history.<domain>, in order: what history holds and publishes."""
    return ["SITEID", "RECID", *_file_columns(domain), *VERSION_COLUMNS]


def _file_columns(domain: str) -> list[str]:
    return [c for c in dts.REQUIRED_COLUMNS[domain] if c != "RECID"]


def _drop_extra_columns(con, domain: str) -> None:
    """A history table built by an earlier version kept extra (non-DTS) columns: drop them."""
    for column in table_columns(con, HISTORY_SCHEMA, domain):
        if column not in history_columns(domain):
            con.execute(f"ALTER TABLE {qualified(HISTORY_SCHEMA, domain)} DROP COLUMN {identifier(column)}")


def historise_new_transfers(
    con: duckdb.DuckDBPyConnection, progress: Callable[[str], None] = lambda line: None
) -> HistoryReport:
    """Historise every loaded transfer not yet in history, site by site in extract-id order."""
    ensure_history_layer(con)
    report = HistoryReport()
    historised = _historised_by_site(con)
    without_history: dict[str, list[str]] = {}
    for site, extracts in _loaded_by_site(con).items():
        done = historised.get(site, set())
        new = [e for e in extracts if e not in done]
        if not new:
            continue
        if done and min(new) < max(done):
            progress(f"history {site}: transfer {min(new)} is older than {max(done)}: replaying the site")
            _forget_site(con, site)
            report.replayed_sites.append(site)
            new, done = extracts, set()
        if done:
            _replay(con, site, new, report, progress)
        else:
            without_history[site] = new
    if without_history:
        _historise_sites(con, without_history, report, progress)
    return report


def rebuild_history(
    con: duckdb.DuckDBPyConnection, progress: Callable[[str], None] = lambda line: None
) -> HistoryReport:
    """Forget all history and replay every loaded transfer from raw."""
    ensure_history_layer(con)
    con.execute("BEGIN TRANSACTION")
    for domain in dts.DTS_FILES:
        con.execute(f"DROP TABLE {qualified(HISTORY_SCHEMA, domain)}")
    con.execute(f"DELETE FROM {TRANSFERS_TABLE}")
    con.execute("COMMIT")
    return historise_new_transfers(con, progress)


def _loaded_by_site(con) -> dict[str, list[str]]:
    rows = con.execute(
        f"SELECT SITEID, EXTRACT_ID FROM {RAW_SCHEMA}.transfer_log WHERE STATUS = 'LOADED' ORDER BY SITEID, EXTRACT_ID"
    ).fetchall()
    by_site: dict[str, list[str]] = {}
    for site, extract in rows:
        by_site.setdefault(site, []).append(extract)
    return by_site


def _historised_by_site(con) -> dict[str, set[str]]:
    by_site: dict[str, set[str]] = {}
    for site, extract in con.execute(f"SELECT SITEID, EXTRACT_ID FROM {TRANSFERS_TABLE}").fetchall():
        by_site.setdefault(site, set()).add(extract)
    return by_site


def _forget_site(con, site: str) -> None:
    con.execute("BEGIN TRANSACTION")
    for domain in dts.DTS_FILES:
        con.execute(f"DELETE FROM {qualified(HISTORY_SCHEMA, domain)} WHERE SITEID = ?", [site])
    con.execute(f"DELETE FROM {TRANSFERS_TABLE} WHERE SITEID = ?", [site])
    con.execute("COMMIT")


def _replay(con, site: str, extracts: list[str], report: HistoryReport, progress) -> None:
    for extract in extracts:
        decimal_separator = con.execute(
            f"SELECT DECIMAL_SEPARATOR FROM {RAW_SCHEMA}.transfer_log WHERE SITEID = ? AND EXTRACT_ID = ?",
            [site, extract],
        ).fetchone()[0]
        con.execute("BEGIN TRANSACTION")
        try:
            changes = {domain: _historise_file(con, domain, site, extract, decimal_separator) for domain in dts.DTS_FILES}
            con.execute(f"INSERT INTO {TRANSFERS_TABLE} VALUES (?, ?)", [site, extract])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        report.historised.append((site, extract))
        report.add_changes(changes)
        opened = sum(o for o, _ in changes.values())
        closed = sum(c for _, c in changes.values())
        progress(f"history {site}/{extract}: {opened} version(s) opened, {closed} closed")


def _historise_sites(con, by_site: dict[str, list[str]], report: HistoryReport, progress) -> None:
    """Sites without history: all their transfers at once, in one transaction. The same versions
    as replaying them one by one (tests/test_history.py compares the two), a query per file
    instead of a few per file and transfer."""
    con.execute("BEGIN TRANSACTION")
    try:
        changes = {domain: _historise_file_in_parts(con, domain, by_site) for domain in dts.DTS_FILES}
        con.executemany(
            f"INSERT INTO {TRANSFERS_TABLE} VALUES (?, ?)",
            [[site, extract] for site, extracts in by_site.items() for extract in extracts],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    report.historised.extend((site, extract) for site, extracts in by_site.items() for extract in extracts)
    report.add_changes(changes)
    for domain, (opened, closed) in changes.items():
        progress(f"history {domain}: {opened} version(s) opened, {closed} closed")
    transfers = sum(len(extracts) for extracts in by_site.values())
    progress(f"history: {len(by_site)} site(s) without history, {transfers} transfer(s) historised at once")


def _historise_file_in_parts(con, domain: str, by_site: dict[str, list[str]]) -> tuple[int, int]:
    """The sites' versions of the file, a few sites at a time: every step of the query is by site,
    so parts of sites in site order insert the versions and the order of one query over all of
    them, while each part's windows and sort stay small (one query over 50 sites x 2,000 subjects
    took 1.5 times as long per row as one over 10 sites)."""
    opened = closed = 0
    for part in _site_parts(con, domain, sorted(by_site)):
        more_opened, more_closed = _historise_file_at_once(con, domain, {site: by_site[site] for site in part})
        opened, closed = opened + more_opened, closed + more_closed
    return opened, closed


def _site_parts(con, domain: str, sites: list[str]) -> list[list[str]]:
    """`sites` (in order) in consecutive parts of about HISTORY_PART_ROWS raw rows of the file."""
    rows = dict(con.execute(
        f"SELECT SITEID, count(*) FROM {qualified(RAW_SCHEMA, domain)} WHERE SITEID IN (SELECT unnest($sites::varchar[])) "
        "GROUP BY SITEID", {"sites": sites}).fetchall())
    parts, part_rows = [[]], 0
    for site in sites:
        if parts[-1] and part_rows + rows.get(site, 0) > HISTORY_PART_ROWS:
            parts.append([])
            part_rows = 0
        parts[-1].append(site)
        part_rows += rows.get(site, 0)
    return parts


def _historise_file_at_once(con, domain: str, by_site: dict[str, list[str]]) -> tuple[int, int]:
    """Every version of the file's records over each site's transfers (in extract-id order, none
    of the site historised yet): a run of consecutive transfers holding a record with the same
    content is one version, valid from the run's first transfer to the transfer after its last."""
    dts_columns = _file_columns(domain)
    numeric = dts.NUMERIC_COLUMNS.get(domain, ())
    normalised = {c: _normalised_by_separator(c) if c in numeric else _normalised(c, False) for c in dts_columns}
    values = [f"{sql} AS {identifier(c)}" for c, sql in normalised.items()]
    # a version keeps its first row's line: its DTS values are its content
    first_row = ["SOURCE_LINE"]
    row_hash = f"md5(to_json([{', '.join(normalised.values())}]))"
    record = "SITEID, RECID, CASE WHEN RECID IS NULL THEN ROW_HASH END"
    listed = [(site, extract, number) for site, extracts in by_site.items() for number, extract in enumerate(extracts)]
    opened = con.execute(
        f"""INSERT INTO {qualified(HISTORY_SCHEMA, domain)} BY NAME
            WITH transfers AS (
                SELECT listed.SITEID, listed.EXTRACT_ID, listed.TRANSFER_NO, log.DECIMAL_SEPARATOR
                FROM (
                    SELECT unnest($sites::varchar[]) AS SITEID, unnest($extracts::varchar[]) AS EXTRACT_ID,
                           unnest($numbers::integer[]) AS TRANSFER_NO
                ) AS listed
                INNER JOIN {RAW_SCHEMA}.transfer_log AS log
                    ON log.SITEID = listed.SITEID AND log.EXTRACT_ID = listed.EXTRACT_ID
            ),
            incoming AS (
                SELECT raw_rows.SITEID, transfers.TRANSFER_NO, nullif(trim(raw_rows.RECID), '') AS RECID,
                       {", ".join(values)}, raw_rows.SOURCE_LINE, {row_hash} AS ROW_HASH
                FROM {_raw_rows(domain)} AS raw_rows
                INNER JOIN transfers ON transfers.SITEID = raw_rows.SITEID AND transfers.EXTRACT_ID = raw_rows.EXTRACT_ID
                -- as in _historise_file: a RECID once per transfer; rows without one told apart by content
                QUALIFY row_number() OVER (
                    PARTITION BY raw_rows.SITEID, transfers.TRANSFER_NO, nullif(trim(raw_rows.RECID), ''),
                                 CASE WHEN nullif(trim(raw_rows.RECID), '') IS NULL THEN ROW_HASH END
                    ORDER BY raw_rows.SOURCE_LINE) = 1
            ),
            -- consecutive transfers with the same content share TRANSFER_NO - (its rank among them)
            runs AS (
                SELECT *, TRANSFER_NO - row_number() OVER (PARTITION BY {record}, ROW_HASH ORDER BY TRANSFER_NO) AS RUN
                FROM incoming
            ),
            versions AS (
                SELECT SITEID, RECID, ROW_HASH,
                       any_value(COLUMNS({_names(dts_columns)})),
                       arg_min({{{", ".join(f"'{c}': {identifier(c)}" for c in first_row)}}}, TRANSFER_NO) AS FIRST_ROW,
                       min(TRANSFER_NO) AS FIRST_NO, max(TRANSFER_NO) AS LAST_NO
                FROM runs
                GROUP BY {record}, ROW_HASH, RUN
            )
            SELECT versions.* EXCLUDE (FIRST_ROW, FIRST_NO, LAST_NO), FIRST_ROW.*,
                   starting.EXTRACT_ID AS VALID_FROM, ending.EXTRACT_ID AS VALID_TO
            FROM versions
            INNER JOIN transfers AS starting ON starting.SITEID = versions.SITEID AND starting.TRANSFER_NO = versions.FIRST_NO
            LEFT JOIN transfers AS ending ON ending.SITEID = versions.SITEID AND ending.TRANSFER_NO = versions.LAST_NO + 1
            ORDER BY versions.SITEID, FIRST_NO, FIRST_ROW.SOURCE_LINE""",
        {
            "sites": [site for site, _, _ in listed],
            "extracts": [extract for _, extract, _ in listed],
            "numbers": [number for _, _, number in listed],
        },
    ).fetchone()[0]
    closed = con.execute(
        f"SELECT count(*) FROM {qualified(HISTORY_SCHEMA, domain)} WHERE VALID_TO IS NOT NULL "
        f"AND SITEID IN (SELECT unnest($sites::varchar[]))",
        {"sites": list(by_site)},
    ).fetchone()[0]
    return opened, closed


def _names(columns: list[str]) -> str:
    return "[" + ", ".join(literal(c) for c in columns) + "]"


def _normalised_by_separator(column: str) -> str:
    """A numeric column of a transfer whose DECIMAL_SEPARATOR is in the query (as `transfers`)."""
    return f"CASE WHEN transfers.DECIMAL_SEPARATOR = ',' THEN {_normalised(column, True)} ELSE {_normalised(column, False)} END"


def _historise_file(con, domain: str, site: str, extract: str, decimal_separator: str) -> tuple[int, int]:
    """Close the open versions the transfer no longer holds; open the versions it brings."""
    dts_columns = _file_columns(domain)
    comma_numbers = dts.NUMERIC_COLUMNS.get(domain, ()) if decimal_separator == "," else ()
    normalised = {c: _normalised(c, c in comma_numbers) for c in dts_columns}
    values = [f"{sql} AS {identifier(c)}" for c, sql in normalised.items()]
    row_hash = f"md5(to_json([{', '.join(normalised.values())}]))"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_INCOMING} AS
            SELECT SITEID, nullif(trim(RECID), '') AS RECID, {", ".join(values)}, SOURCE_LINE, {row_hash} AS ROW_HASH
            FROM {_raw_rows(domain)}
            WHERE SITEID = ? AND EXTRACT_ID = ?
            -- RECID is unique in a file (ingestion rejects a file naming one twice); rows without one are
            -- told apart by their content, and identical ones are one record
            QUALIFY row_number() OVER (
                PARTITION BY nullif(trim(RECID), ''), CASE WHEN nullif(trim(RECID), '') IS NULL THEN ROW_HASH END
                ORDER BY SOURCE_LINE) = 1""",
        [site, extract],
    )
    same_version = "i.RECID IS NOT DISTINCT FROM h.RECID AND i.ROW_HASH = h.ROW_HASH"
    closed = con.execute(
        f"""UPDATE {qualified(HISTORY_SCHEMA, domain)} AS h SET VALID_TO = ?
            WHERE h.SITEID = ? AND h.VALID_TO IS NULL
              AND NOT EXISTS (SELECT 1 FROM {_INCOMING} AS i WHERE {same_version})""",
        [extract, site],
    ).fetchone()[0]
    opened = con.execute(
        f"""INSERT INTO {qualified(HISTORY_SCHEMA, domain)} BY NAME
            SELECT i.*, ? AS VALID_FROM
            FROM {_INCOMING} AS i
            WHERE NOT EXISTS (
                SELECT 1 FROM {qualified(HISTORY_SCHEMA, domain)} AS h
                WHERE h.SITEID = ? AND h.VALID_TO IS NULL AND {same_version})""",
        [extract, site],
    ).fetchone()[0]
    con.execute(f"DROP TABLE {_INCOMING}")
    return opened, closed


def _raw_rows(domain: str) -> str:
    """raw.<domain>'s load and DTS columns: an extra column a site sends, whatever its name (one
    called ROW_HASH, say), never reaches history's queries."""
    columns = ["SITEID", "EXTRACT_ID", "SOURCE_LINE", *dts.REQUIRED_COLUMNS[domain]]
    return f"(SELECT {', '.join(identifier(c) for c in columns)} FROM {qualified(RAW_SCHEMA, domain)})"


def _normalised(column: str, comma_number: bool) -> str:
    name = identifier(column)
    text = f"nullif(trim({name}), '')"
    if not comma_number:
        return text
    return f"CASE WHEN regexp_full_match(trim({name}), '{_COMMA_NUMBER}') THEN replace(trim({name}), ',', '.') ELSE {text} END"
