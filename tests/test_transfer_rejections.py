"""Each rejection rule of DTS section 2 on a crafted transfer: named, logged, nothing lost."""

import shutil
from pathlib import Path

import pytest

from conftest import tree_digest
from orchestration.ingestion import ingest_new_transfers
from orchestration.warehouse import connect
from transfer_factory import minimal_rows, read_manifest, relist, write_manifest, write_transfer

GOOD_EXTRACT = "20210101T020000Z"
BAD_EXTRACT = "20210201T020000Z"


def _manifest_edit(**changes):
    def edit(folder: Path):
        manifest = read_manifest(folder)
        manifest.update(changes)
        write_manifest(folder, manifest)
    return edit


def _drop_manifest_field(field):
    def edit(folder: Path):
        manifest = read_manifest(folder)
        del manifest[field]
        write_manifest(folder, manifest)
    return edit


def _not_json(folder: Path):
    (folder / "manifest.json").write_text('{"dts_version": "1.0", "files": [', encoding="utf-8")


def _delete_file(name):
    def edit(folder: Path):
        (folder / name).unlink()
    return edit


def _unlist_file(name):
    def edit(folder: Path):
        manifest = read_manifest(folder)
        manifest["files"] = [f for f in manifest["files"] if f["name"] != name]
        write_manifest(folder, manifest)
        (folder / name).unlink()
    return edit


def _tamper_bytes(name):
    def edit(folder: Path):
        path = folder / name
        path.write_bytes(path.read_bytes().replace(b"27.5", b"72.5"))
    return edit


def _miscount_rows(name):
    def edit(folder: Path):
        manifest = read_manifest(folder)
        for entry in manifest["files"]:
            if entry["name"] == name:
                entry["rows"] += 1
        write_manifest(folder, manifest)
    return edit


def _drop_column(name, column):
    def edit(folder: Path):
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        keep = [i for i, c in enumerate(header) if c != column]
        path.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n", encoding="utf-8")
        relist(folder, name)
    return edit


def _invalid_cp1251_bytes(folder: Path):
    manifest = read_manifest(folder)
    manifest["encoding"] = "utf-8"
    write_manifest(folder, manifest)
    path = folder / "ae.csv"
    path.write_bytes(path.read_bytes().replace("Боль".encode("utf-8"), "Боль".encode("cp1251")))
    relist_bytes_only(folder, "ae.csv")


def relist_bytes_only(folder: Path, name: str):
    import hashlib
    manifest = read_manifest(folder)
    for entry in manifest["files"]:
        if entry["name"] == name:
            entry["sha256"] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    write_manifest(folder, manifest)


def _unterminated_quote(folder: Path):
    path = folder / "echo.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("BASELINE", '"BASELINE', 1), encoding="utf-8")
    relist_bytes_only(folder, "echo.csv")


# (test id, edit, rule, file named in the reason, text the reason must contain)
CASES = [
    ("manifest not JSON", _not_json, "manifest-json", "manifest.json", "not valid JSON"),
    ("manifest lacks a field", _drop_manifest_field("decimal_separator"), "manifest-field", "manifest.json", "decimal_separator"),
    ("site id disagrees with folder", _manifest_edit(site_id="KZ02"), "folder-ids", "manifest.json", "'KZ02'"),
    ("extract id disagrees with folder", _manifest_edit(extract_id="20210202T020000Z"), "folder-ids", "manifest.json", "20210202T020000Z"),
    ("wrong study", _manifest_edit(study="NCT00000000"), "study-id", "manifest.json", "NCT00000000"),
    ("unknown encoding", _manifest_edit(encoding="latin-1"), "manifest-value", "manifest.json", "encoding"),
    ("decimal comma with comma delimiter", _manifest_edit(decimal_separator=","), "manifest-value", "manifest.json", "requires delimiter"),
    ("listed file missing", _delete_file("lb.csv"), "listed-file-missing", "lb.csv", "not delivered"),
    ("sha256 differs", _tamper_bytes("echo.csv"), "file-sha256", "echo.csv", "sha256"),
    ("row count differs", _miscount_rows("qs.csv"), "file-rows", "qs.csv", "holds 1 data rows, the manifest says 2"),
    ("required file absent", _unlist_file("ds.csv"), "required-file", "ds.csv", "ds.csv"),
    ("required column absent", _drop_column("echo.csv", "LVESV"), "required-column", "echo.csv", "LVESV"),
    ("bytes not in the encoding", _invalid_cp1251_bytes, "file-encoding", "ae.csv", "not valid utf-8"),
    ("malformed CSV", _unterminated_quote, "csv-format", "echo.csv", "not readable as CSV"),
]


@pytest.mark.parametrize("edit, rule, file, text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_transfer_is_named_logged_and_untouched(tmp_path, edit, rule, file, text):
    landing = tmp_path / "landing"
    write_transfer(landing, extract_id=GOOD_EXTRACT)
    con = connect(tmp_path / "warehouse.duckdb")
    first = ingest_new_transfers(con, landing)
    assert [t.transfer.label for t in first.loaded] == [f"KZ99/{GOOD_EXTRACT}"]
    raw_before = _raw_snapshot(con)

    bad = write_transfer(landing, extract_id=BAD_EXTRACT, rows=minimal_rows("002", lvef="27.5"))
    edit(bad)
    bytes_before = tree_digest(bad)

    report = ingest_new_transfers(con, landing)

    assert report.loaded == []
    [rejection] = report.rejected
    assert rejection.rule == rule
    reason = str(rejection)
    assert f"transfer KZ99/{BAD_EXTRACT}" in reason and f"file {file}" in reason and f"[rule {rule}]" in reason
    assert text in reason
    assert tree_digest(bad) == bytes_before, "a rejected transfer's files must stay byte-identical"
    assert _raw_snapshot(con) == raw_before, "the previous data must stay as it was"
    log = con.execute(
        "SELECT EXTRACT_ID, STATUS, REASON, RULE, REJECTED_FILE FROM raw.transfer_log ORDER BY EXTRACT_ID"
    ).fetchall()
    assert log == [(GOOD_EXTRACT, "LOADED", None, None, None), (BAD_EXTRACT, "REJECTED", reason, rule, file)]

    again = ingest_new_transfers(con, landing)
    assert (again.loaded, again.rejected, again.skipped) == ([], [], 2), "a transfer seen once is not retried"


def test_folder_without_manifest_is_left_alone(tmp_path):
    landing = tmp_path / "landing"
    folder = write_transfer(landing)
    (folder / "manifest.json").unlink()
    con = connect(tmp_path / "warehouse.duckdb")
    report = ingest_new_transfers(con, landing)
    assert (report.loaded, report.rejected, report.skipped) == ([], [], 0)
    assert con.execute("SELECT count(*) FROM raw.transfer_log").fetchone() == (0,)


def test_site_folder_that_is_not_a_site_id_is_rejected(tmp_path):
    landing = tmp_path / "landing"
    folder = write_transfer(landing, site_id="KZ99")
    renamed = landing / "kz-99" / folder.name
    renamed.parent.mkdir()
    shutil.move(folder, renamed)
    con = connect(tmp_path / "warehouse.duckdb")
    [rejection] = ingest_new_transfers(con, landing).rejected
    assert rejection.rule == "folder-ids" and "'kz-99' is not a SITEID" in str(rejection)


def _raw_snapshot(con):
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name <> 'transfer_log' ORDER BY 1"
    ).fetchall()]
    return {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in tables}
