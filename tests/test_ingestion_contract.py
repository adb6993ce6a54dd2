"""Ingestion's contract, in process on real DuckDB files: every complete transfer ends LOADED or
REJECTED in one transaction of its own; an unexpected error rejects that transfer only (rule
internal-error) and a fault of the machine stops ingestion without logging the transfer; names
from files are quoted as data; transfers replaced after they were logged are noticed; the raw
gate validates every loaded transfer no publication includes yet."""

import errno
import hashlib

import duckdb
import pytest

from orchestration.build_state import loaded_transfers_to_validate, record_publication
from orchestration.ingestion import IngestionStopped, ingest_new_transfers, raw_loader
from orchestration.ingestion.landing_changes import unrecorded_landing_changes
from orchestration.ingestion.transfers import find_complete_transfers, printable
from orchestration.sql import identifier, literal, qualified
from orchestration.warehouse import connect
from transfer_factory import minimal_rows, read_manifest, write_manifest, write_transfer

T1, T2 = "20210101T020000Z", "20210201T020000Z"
HOSTILE_NAMES = ['A" VARCHAR; COMMIT; DROP TABLE raw.dm; --', "x'); DROP TABLE raw.dm; --", 'X"Y', "Ä ö\nline", "*", "rowid"]


def _raw_rows(con) -> dict[str, list]:
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name NOT IN ('transfer_log', 'landing_changes')"
    ).fetchall()]
    return {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in tables}


def _log(con) -> list[tuple]:
    return con.execute("SELECT SITEID, EXTRACT_ID, STATUS, RULE, REJECTED_FILE FROM raw.transfer_log ORDER BY ALL").fetchall()


def test_an_unexpected_error_rejects_that_transfer_only(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ01", T1, minimal_rows("001"))
    write_transfer(landing, "KZ02", T1, minimal_rows("001"))
    original = raw_loader._reject_repeated_recid

    def breaks_at_kz01_ex(con, transfer, file_name, *args):
        if transfer.site_id == "KZ01" and file_name == "ex.csv":
            raise KeyError("a bug nobody foresaw")
        return original(con, transfer, file_name, *args)

    monkeypatch.setattr(raw_loader, "_reject_repeated_recid", breaks_at_kz01_ex)
    con = connect(tmp_path / "warehouse.duckdb")
    report = ingest_new_transfers(con, landing)

    [rejection] = report.rejected
    assert (rejection.rule, rejection.file) == ("internal-error", "ex.csv")
    assert str(rejection) == (
        f"transfer KZ01/{T1}, file ex.csv: checking or loading it raised KeyError: 'a bug nobody foresaw' [rule internal-error]"
    )
    assert [t.transfer.label for t in report.loaded] == [f"KZ02/{T1}"]
    assert _log(con) == [("KZ01", T1, "REJECTED", "internal-error", "ex.csv"), ("KZ02", T1, "LOADED", None, None)]
    assert {site for rows in _raw_rows(con).values() for site, *_ in rows} == {"KZ02"}, "nothing of KZ01 stays in raw"


def test_a_fault_of_the_machine_stops_ingestion_and_the_transfer_is_loaded_next_time(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ01", T1, minimal_rows("001"))
    con = connect(tmp_path / "warehouse.duckdb")

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(raw_loader, "_reject_repeated_recid", disk_full)
        with pytest.raises(IngestionStopped, match=f"transfer KZ01/{T1}: OSError: .*No space left on device.*next refresh loads it again"):
            ingest_new_transfers(con, landing)
    assert _log(con) == [] and all(rows == [] for rows in _raw_rows(con).values()), "not logged, nothing in raw"

    report = ingest_new_transfers(con, landing)
    assert [t.transfer.label for t in report.loaded] == [f"KZ01/{T1}"]


def test_transfers_commit_to_the_log_and_the_database_is_checkpointed_once_after_the_last(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    for site in ("KZ01", "KZ02", "KZ03"):
        write_transfer(landing, site, T1, minimal_rows("001"))
    database = tmp_path / "warehouse.duckdb"
    wal = tmp_path / "warehouse.duckdb.wal"
    con = connect(database)
    con.execute("SET checkpoint_threshold = '1KB'")  # a checkpoint at every commit, if nothing deferred them
    threshold = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    logged_sizes = []
    original = raw_loader.load_transfer

    def noting_the_log(con, transfer, *args):
        logged_sizes.append(wal.stat().st_size if wal.exists() else 0)
        return original(con, transfer, *args)

    monkeypatch.setattr("orchestration.ingestion.load_transfer", noting_the_log)
    report = ingest_new_transfers(con, landing)

    assert len(report.loaded) == 3
    assert logged_sizes[0] < logged_sizes[1] < logged_sizes[2], "each commit went to the log, none checkpointed it away"
    assert not wal.exists() or wal.stat().st_size == 0, "checkpointed after the last transfer"
    assert con.execute("SELECT current_setting('checkpoint_threshold')").fetchone() == threshold, "the setting is restored"
    con.close()
    with duckdb.connect(str(database), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM raw.transfer_log WHERE STATUS = 'LOADED'").fetchone() == (3,)


def test_names_from_files_are_quoted_as_data():
    con = duckdb.connect()
    con.execute(f"CREATE SCHEMA {identifier('raw')}")
    table = qualified("raw", HOSTILE_NAMES[1])
    con.execute(f"CREATE TABLE {table} ({', '.join(f'{identifier(n)} VARCHAR' for n in HOSTILE_NAMES)})")
    con.execute(f"INSERT INTO {table} VALUES ({', '.join(literal(n) for n in HOSTILE_NAMES)})")
    assert [c for (c, *_) in con.execute(f"DESCRIBE {table}").fetchall()] == HOSTILE_NAMES
    assert con.execute(f"SELECT {', '.join(identifier(n) for n in HOSTILE_NAMES)} FROM {table}").fetchall() == [tuple(HOSTILE_NAMES)]
    with pytest.raises(ValueError):
        identifier("")


def test_hostile_header_names_land_as_columns_with_their_values(tmp_path):
    landing = tmp_path / "landing"
    rows = minimal_rows("001")
    rows["ae"][0].update({name: f"value {i}" for i, name in enumerate(HOSTILE_NAMES[:4])})
    write_transfer(landing, "KZ01", T1, rows)
    con = connect(tmp_path / "warehouse.duckdb")
    report = ingest_new_transfers(con, landing)
    assert [t.transfer.label for t in report.loaded] == [f"KZ01/{T1}"]
    columns = [n.strip().upper() for n in HOSTILE_NAMES[:4]]
    assert con.execute(f"SELECT {', '.join(identifier(c) for c in columns)} FROM raw.ae").fetchall() == [
        ("value 0", "value 1", "value 2", "value 3")
    ]
    assert con.execute("SELECT count(*) FROM raw.dm").fetchall() == [(1,)]


def test_printable_keeps_text_and_escapes_what_a_log_line_cannot_hold():
    assert printable("KZ01") == "KZ01" and printable("Боль в груди") == "Боль в груди"
    assert printable("a\nb\x00c\udcff\ud800") == "a\\nb\\x00c\\xff\\ud800"
    assert printable("x" * 20, 10) == "xxxxxxx..."


def test_a_transfer_changed_after_it_was_logged_is_noticed_once(tmp_path):
    landing = tmp_path / "landing"
    folder = write_transfer(landing, "KZ01", T1, minimal_rows("001"))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_new_transfers(con, landing)
    raw_before = _raw_rows(con)
    assert unrecorded_landing_changes(con, find_complete_transfers(landing)) == []

    (folder / "ae.csv").write_bytes((folder / "ae.csv").read_bytes() + b"AE999,001\n")  # bytes replaced
    manifest = read_manifest(folder)
    manifest["files"][-2]["sha256"] = hashlib.sha256((folder / "ae.csv").read_bytes()).hexdigest()
    write_manifest(folder, manifest)
    [change] = unrecorded_landing_changes(con, find_complete_transfers(landing))
    assert change.changes[0] == "manifest.json replaced" and change.changes[1].startswith("ae.csv is ")

    first = ingest_new_transfers(con, landing)
    second = ingest_new_transfers(con, landing)
    assert [str(c) for c in first.landing_changes] == [str(c) for c in second.landing_changes] == [str(change)]
    assert str(change).startswith(f"transfer KZ01/{T1} (LOADED) changed in the landing folder since it was logged: "
                                  "manifest.json replaced; ae.csv is ")
    assert con.execute("SELECT SITEID, EXTRACT_ID, DETAIL FROM raw.landing_changes").fetchall() == [
        ("KZ01", T1, change.detail)
    ], "recorded once"
    assert unrecorded_landing_changes(con, find_complete_transfers(landing)) == []
    assert _raw_rows(con) == raw_before, "the warehouse keeps what it loaded"
    assert (first.loaded, first.rejected) == ([], [])


def test_the_raw_gate_validates_every_loaded_transfer_no_publication_includes(tmp_path):
    landing = tmp_path / "landing"
    write_transfer(landing, "KZ01", T1, minimal_rows("001"))
    con = connect(tmp_path / "warehouse.duckdb")
    ingest_new_transfers(con, landing)
    assert loaded_transfers_to_validate(con) == [("KZ01", T1)], "nothing published yet"
    record_publication(con, tmp_path / "published.duckdb")
    assert loaded_transfers_to_validate(con) == []

    write_transfer(landing, "KZ01", T2, minimal_rows("001"))
    write_transfer(landing, "KZ02", T1, minimal_rows("001")).joinpath("dm.csv").write_text("broken")
    ingest_new_transfers(con, landing)
    # a run that fails its gates publishes nothing: the next run validates the same transfer again
    assert loaded_transfers_to_validate(con) == [("KZ01", T2)]
    assert loaded_transfers_to_validate(con) == [("KZ01", T2)]
    record_publication(con, tmp_path / "published.duckdb")
    assert loaded_transfers_to_validate(con) == []
