"""Hostile, malformed and unlucky transfers through `regenheart refresh`, each beside a good one.

One landing holds a good transfer of site GOOD01 and one transfer per case below, each at a site
of its own, so that one refresh shows every case beside the good site: each ends LOADED or
REJECTED with a reason naming the file and the rule, raw keeps the loaded ones and nothing of the
rejected ones, the landing is not touched, the good site is published, and the next refresh has
nothing to do. The refresh runs as root without the right to read other users' files (setpriv),
as a service account would, so that a mode-000 file is really unreadable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pytest

import processes
from conftest import REPO_ROOT, build_database
from transfer_factory import minimal_rows, read_manifest, relist, write_manifest, write_transfer

pytestmark = pytest.mark.e2e  # `make test-e2e`: refreshes as a service account, beside hostile landings

EXTRACT = "20210101T020000Z"
INJECTION = 'A" VARCHAR; COMMIT; DROP TABLE RAW.DM; --'
LONG_TERM = "Б" * 124  # 248 bytes in UTF-8: more than XPT v5 holds


def _edit_file(folder: Path, name: str, edit: Callable[[str], str], relisted: bool = True) -> None:
    path = folder / name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")
    if relisted:
        relist(folder, name)
    else:  # bytes changed, row count as before
        manifest = read_manifest(folder)
        for entry in manifest["files"]:
            if entry["name"] == name:
                entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        write_manifest(folder, manifest)


def _edit_manifest(folder: Path, edit: Callable[[dict], None]) -> None:
    manifest = read_manifest(folder)
    edit(manifest)
    write_manifest(folder, manifest)


def _add_column(name: str, value: str, file: str = "ae.csv"):
    def build(folder: Path):
        def edit(text):
            header, first, *rest = text.split("\n")
            quoted = '"' + name.replace('"', '""') + '"'
            return "\n".join([f"{header},{quoted}", f"{first},{value}", *rest])
        _edit_file(folder, file, edit)
    return build


def _names_the_warehouse_derives(folder: Path):
    for name in ("DECIMAL_SEPARATOR", "EXTRACT_DATE", "ISSUES", "ERROR_FIELDS", "LVEF_PARSED"):
        _add_column(name, "x", "echo.csv")(folder)


def _header_injection(folder: Path):
    _add_column(INJECTION, "x")(folder)


def _quoted_line_break(folder: Path):
    _edit_file(folder, "ae.csv", lambda t: t.replace("Боль в груди", '"Боль\nв груди"'))


def _blank_line_at_end(folder: Path):
    _edit_file(folder, "dm.csv", lambda t: t + "\n", relisted=False)


def _huge_row_count(folder: Path):
    _edit_manifest(folder, lambda m: m["files"][0].update(rows=10**19))


def _nested_manifest(folder: Path):
    (folder / "manifest.json").write_text("[" * 100_000, encoding="utf-8")


def _unreadable_file(folder: Path):
    os.chmod(folder / "dm.csv", 0)


def _listed_twice(folder: Path):
    _edit_manifest(folder, lambda m: m["files"].append(dict(m["files"][0])))


def _repeated_recid(folder: Path):
    def edit(text):
        header, first, *rest = text.rstrip("\n").split("\n")
        return "\n".join([header, first.replace("27.5", "39"), first.replace("27.5", "48"), *rest]) + "\n"
    _edit_file(folder, "echo.csv", edit)


def _column_twice(extra: str):
    def build(folder: Path):
        _edit_file(folder, "echo.csv", lambda t: t.replace("LVESD\n", f"LVESD,{extra}\n", 1).replace(",61\n", ",61,30\n"))
    return build


def _long_cyrillic_term(folder: Path):
    _edit_file(folder, "ae.csv", lambda t: t.replace("Боль в груди", LONG_TERM))


def _identifying_columns(folder: Path):
    _edit_file(folder, "dm.csv", lambda t: t.replace("ETIOLCONF\n", "ETIOLCONF,PATNAME,BRTHDTC\n").replace(
        "ANGIO\n", "ANGIO,Ivan Petrov,1970-05-05\n"))


def _symlinked_file(folder: Path):
    outside = folder.parent.parent.parent / "outside-dm.csv"
    shutil.copyfile(folder / "dm.csv", outside)
    (folder / "dm.csv").unlink()
    (folder / "dm.csv").symlink_to(outside)


def _named_pipe(folder: Path):
    (folder / "lb.csv").unlink()
    os.mkfifo(folder / "lb.csv")


def _manifest_value(value: str):
    def build(folder: Path):
        manifest = read_manifest(folder)
        manifest["extracted_at"] = value
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="ascii")  # \u escapes
    return build


def _hostile_listed_name(folder: Path):
    name = "notes'); DROP TABLE raw.dm; --.txt"
    (folder / name).write_bytes(b"free text\n")
    _edit_manifest(folder, lambda m: m["files"].append(
        {"name": name, "rows": 0, "sha256": hashlib.sha256(b"free text\n").hexdigest()}))


@dataclass(frozen=True)
class Case:
    site: str
    build: Callable[[Path], None]
    status: str
    rule: str | None = None
    file: str | None = None
    reason: str = ""


CASES = {
    "a column name that is SQL": Case("BAD01", _header_injection, "LOADED"),
    "a quoted field with a line break": Case("BAD02", _quoted_line_break, "LOADED"),
    "a file ending with a blank line": Case("BAD03", _blank_line_at_end, "LOADED"),
    'an extra column named with a "': Case("BAD04", _add_column('X"Y', "1", "dm.csv"), "LOADED"),
    "a manifest declaring 10^19 rows": Case("BAD05", _huge_row_count, "REJECTED", "manifest-value", "manifest.json", "rows is 10000000000000000000"),
    "a manifest of 100,000 nested [": Case("BAD06", _nested_manifest, "REJECTED", "manifest-json", "manifest.json", "nested too deeply"),
    "a file the refresh cannot read": Case("BAD07", _unreadable_file, "REJECTED", "file-unreadable", "dm.csv", "Permission denied"),
    "dm.csv listed twice": Case("BAD08", _listed_twice, "REJECTED", "manifest-value", "manifest.json", "dm.csv is listed twice"),
    "one RECID twice in echo.csv": Case("BAD09", _repeated_recid, "REJECTED", "duplicate-recid", "echo.csv", "RECID 'EC001' is on lines 2 and 3"),
    "LVEF twice": Case("BAD10", _column_twice("LVEF"), "REJECTED", "csv-format", "echo.csv", "column LVEF appears twice"),
    "LVEF and ' lvef '": Case("BAD11", _column_twice(" lvef "), "REJECTED", "csv-format", "echo.csv", "column LVEF appears twice"),
    "a 124-letter Cyrillic AETERM": Case("BAD12", _long_cyrillic_term, "LOADED"),
    "a name and a birth date in dm.csv": Case("BAD13", _identifying_columns, "LOADED"),
    "a symbolic link to a file outside": Case("BAD14", _symlinked_file, "REJECTED", "file-type", "dm.csv", "symbolic link"),
    "a named pipe": Case("BAD15", _named_pipe, "REJECTED", "file-type", "lb.csv", "pipe"),
    "manifest text that is SQL": Case("BAD16", _manifest_value("2021-01-01'); DROP TABLE raw.dm; --\u0000"), "LOADED"),
    "manifest text that is not Unicode": Case("BAD18", _manifest_value("\ud800"), "REJECTED", "manifest-json", "manifest.json", "surrogates not allowed"),
    "a listed file name that is SQL": Case("BAD17", _hostile_listed_name, "LOADED"),
    "extra columns named as the warehouse's own": Case("BAD19", _names_the_warehouse_derives, "LOADED"),
    "an extra column named as a raw check's": Case("BAD20", _add_column("LOADED_ROWS", "7", "dm.csv"), "LOADED"),
}
HOSTILE_SITE_FOLDER = "K'); DROP TABLE raw.dm; --"


@dataclass(frozen=True)
class HostileRun:
    landing: Path
    warehouse: Path
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    landing_before: dict[str, str]
    landing_after: dict[str, str]
    raw_after_first: dict
    after_replacement: subprocess.CompletedProcess  # GOOD01's ae.csv rewritten in place, then a refresh
    after_that: subprocess.CompletedProcess
    raw_after_replacement: dict


def _refresh(landing: Path, warehouse: Path, *options: str) -> subprocess.CompletedProcess:
    """`regenheart refresh` as a service account would run it: as root, without root's right to
    read and write other users' files (so mode 000 means unreadable)."""
    env = {**os.environ, "REGENHEART_LANDING_DIR": str(landing), "REGENHEART_WAREHOUSE": str(warehouse)}
    env.pop("DAGSTER_HOME", None)
    command = [sys.executable, "-m", "orchestration.cli", "refresh", *options]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    return processes.run(command, env=env, timeout=900, cwd=REPO_ROOT)


def landing_digest(folder: Path) -> dict[str, str]:
    """Every entry under `folder`, without following links or opening pipes: a file's sha256, a
    link's target, a pipe's kind and mode."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        relative = str(path.relative_to(folder))
        if stat.S_ISLNK(mode):
            digest[relative] = f"link to {os.readlink(path)}"
        elif stat.S_ISREG(mode):
            digest[relative] = f"{stat.S_IMODE(mode):o} " + hashlib.sha256(path.read_bytes()).hexdigest()
        elif not stat.S_ISDIR(mode):
            digest[relative] = f"special {stat.S_IMODE(mode):o}"
    return digest


def _raw_counts(warehouse: Path) -> dict:
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name NOT IN ('transfer_log', 'landing_changes')"
        ).fetchall()]
        return {
            table: dict(((site, extract), n) for site, extract, n in con.execute(
                f'SELECT SITEID, EXTRACT_ID, count(*) FROM raw."{table}" GROUP BY ALL').fetchall())
            for table in tables
        }


def build_hostile_landing(landing: Path) -> None:
    write_transfer(landing, "GOOD01", EXTRACT, minimal_rows("001"))
    for case in CASES.values():
        case.build(write_transfer(landing, case.site, EXTRACT, minimal_rows("001")))
    write_transfer(landing, HOSTILE_SITE_FOLDER, EXTRACT, minimal_rows("001"))
    write_transfer(landing, "BADID", "2021-01-01'; --", minimal_rows("001"))
    outside = landing.parent / "elsewhere" / "LINKED" / EXTRACT
    write_transfer(landing.parent / "elsewhere", "LINKED", EXTRACT, minimal_rows("001"))
    (landing / "LINKED").symlink_to(outside.parent)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> HostileRun:
    root = tmp_path_factory.mktemp("hostile")
    landing, warehouse = root / "delivered" / "landing", root / "warehouse" / "warehouse.duckdb"
    build_hostile_landing(landing)
    before = landing_digest(landing.parent)  # the landing, and what its links point to
    first = _refresh(landing, warehouse)
    raw_after_first = _raw_counts(warehouse)
    second = _refresh(landing, warehouse)
    after = landing_digest(landing.parent)
    replaced = landing / "GOOD01" / EXTRACT / "ae.csv"  # a delivered folder must never change; this one does
    replaced.write_bytes(replaced.read_bytes() + b"AE002,001,2,x,,,,,,,,\n")
    after_replacement = _refresh(landing, warehouse)
    after_that = _refresh(landing, warehouse)
    return HostileRun(landing, warehouse, first, second, before, after, raw_after_first, after_replacement,
                      after_that, _raw_counts(warehouse))


def _log(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        return {site: rest for site, *rest in con.execute(
            "SELECT SITEID, STATUS, RULE, REJECTED_FILE, REASON FROM raw.transfer_log").fetchall()}


def test_the_refresh_names_each_rejection_and_exits_1_without_a_traceback(hostile):
    assert hostile.first.returncode == 1, hostile.first.stderr
    assert "Traceback" not in hostile.first.stderr
    rejected_lines = [line for line in hostile.first.stderr.splitlines() if line.startswith("REJECTED ")]
    assert len(rejected_lines) == sum(c.status == "REJECTED" for c in CASES.values()) + 3  # + the three folders


@pytest.mark.parametrize("name", list(CASES))
def test_each_transfer_ends_loaded_or_rejected_with_its_rule(hostile, name):
    case = CASES[name]
    status, rule, file, reason = _log(hostile.warehouse)[case.site]
    assert (status, rule, file) == (case.status, case.rule, case.file), reason
    if case.status == "REJECTED":
        assert reason.startswith(f"transfer {case.site}/{EXTRACT}, file {case.file}") and f"[rule {case.rule}]" in reason
        assert case.reason in reason
        assert not any(case.site in {site for site, _ in counts} for counts in hostile.raw_after_first.values()), \
            "nothing of a rejected transfer is in raw"
    else:
        assert reason is None
        assert all((case.site, EXTRACT) in counts for counts in hostile.raw_after_first.values()), "loaded whole"


def test_folders_that_are_sql_or_links_are_rejected_and_logged(hostile):
    log = _log(hostile.warehouse)
    status, rule, _, reason = log[HOSTILE_SITE_FOLDER]
    assert (status, rule) == ("REJECTED", "folder-ids") and "is not a SITEID" in reason
    status, rule, _, reason = log["BADID"]
    assert (status, rule) == ("REJECTED", "folder-ids") and "is not an EXTRACT_ID" in reason
    status, rule, _, reason = log["LINKED"]
    assert (status, rule) == ("REJECTED", "file-type") and "folder LINKED is a symbolic link" in reason


def test_the_landing_is_untouched_and_raw_only_grows(hostile):
    assert hostile.landing_after == hostile.landing_before
    assert hostile.raw_after_replacement == hostile.raw_after_first, "a later refresh changed raw"


def test_the_next_refresh_has_nothing_to_do(hostile):
    assert hostile.second.returncode == 0, hostile.second.stderr
    assert "nothing new since the last publication" in hostile.second.stderr
    assert "Traceback" not in hostile.second.stderr


def test_the_good_site_and_every_loaded_site_are_published(hostile):
    loaded = {"GOOD01"} | {c.site for c in CASES.values() if c.status == "LOADED"}
    with duckdb.connect(str(hostile.warehouse), read_only=True) as con:
        published = {site for (site,) in con.execute("SELECT DISTINCT SITEID FROM marts.adsl").fetchall()}
        log = {site: status for site, status in con.execute("SELECT SITEID, STATUS FROM marts.extract_log").fetchall()}
    assert published == loaded
    assert log["GOOD01"] == "LOADED" and log["BAD09"] == "REJECTED"


def test_raw_keeps_every_site_s_dm_rows_and_odd_names_as_columns(hostile):
    with duckdb.connect(str(build_database(hostile.warehouse)), read_only=True) as con:
        dm_sites = {site for (site,) in con.execute("SELECT SITEID FROM raw.dm").fetchall()}
        injected = con.execute(f'SELECT SITEID, "{INJECTION.replace(chr(34), chr(34) * 2)}" FROM raw.ae WHERE "{INJECTION.replace(chr(34), chr(34) * 2)}" IS NOT NULL').fetchall()
        quoted = con.execute('SELECT SITEID, "X""Y" FROM raw.dm WHERE "X""Y" IS NOT NULL').fetchall()
        line_break = con.execute("SELECT AETERM, SOURCE_LINE FROM raw.ae WHERE SITEID = 'BAD02'").fetchall()
        extracted_at = con.execute("SELECT EXTRACTED_AT FROM raw.transfer_log WHERE SITEID = 'BAD16'").fetchall()
    assert dm_sites == {"GOOD01"} | {c.site for c in CASES.values() if c.status == "LOADED"}
    assert injected == [("BAD01", "x")]
    assert quoted == [("BAD04", "1")]
    assert line_break == [("Боль\nв груди", 2)]
    assert extracted_at == [("2021-01-01'); DROP TABLE raw.dm; --\\x00",)]


def test_the_published_file_holds_no_column_outside_the_dts(hostile):
    with duckdb.connect(str(hostile.warehouse), read_only=True) as con:
        history_dm = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'history' AND table_name = 'dm' "
            "ORDER BY ordinal_position").fetchall()]
        mentions = con.execute(  # sdtm.dm.BRTHDTC is SDTM's own variable, the birth year (checked below)
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'PATNAME' "
            "OR column_name = 'BRTHDTC' AND table_schema <> 'sdtm'").fetchall()
        birth_dates = con.execute("SELECT DISTINCT length(BRTHDTC) FROM sdtm.dm WHERE BRTHDTC IS NOT NULL").fetchall()
        found = [
            (table, column)
            for table, column in con.execute(
                "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
            ).fetchall()
            if con.execute(f'SELECT count(*) FROM {table} WHERE "{column}" LIKE \'%Ivan Petrov%\'').fetchall()[0][0]
        ]
    assert history_dm == ["SITEID", "RECID", "SUBJID", "SEX", "BRTHYR", "CONSDT", "ICDIND", "ICDIMP", "ETIOLCONF",
                          "VALID_FROM", "VALID_TO", "SOURCE_LINE", "ROW_HASH"]
    assert mentions == [(0,)] and found == [] and birth_dates == [(4,)]
    with duckdb.connect(str(build_database(hostile.warehouse)), read_only=True) as con:
        assert con.execute("SELECT PATNAME FROM raw.dm WHERE SITEID = 'BAD13'").fetchall() == [("Ivan Petrov",)], \
            "extra columns stay in raw"


def test_a_value_xpt_cannot_hold_is_published_whole_and_cut_in_the_xpt_file_only(hostile):
    import pyreadstat

    with duckdb.connect(str(hostile.warehouse), read_only=True) as con:
        assert con.execute("SELECT AETERM FROM marts.adae WHERE USUBJID LIKE '%-BAD12-%'").fetchall() == [(LONG_TERM,)]
    exports = hostile.warehouse.parent / "exports"
    frame, _ = pyreadstat.read_xport(str(exports / "adae.xpt"), encoding="utf-8")
    assert frame.loc[frame["USUBJID"].str.contains("-BAD12-"), "AETERM"].tolist() == ["Б" * 100]
    manifest = json.loads((exports / "manifest.json").read_text(encoding="utf-8"))
    assert {"file": "adae.xpt", "column": "AETERM", "values": 1}.items() <= manifest["xpt_adjustments"][0].items()
    assert "warehouse_exports: done" in hostile.first.stderr


def test_a_transfer_replaced_under_the_same_extract_id_is_named_and_recorded_once(hostile):
    result = hostile.after_replacement
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "WARNING transfer" in line]
    assert f"WARNING transfer GOOD01/{EXTRACT} (LOADED) changed in the landing folder since it was logged: ae.csv is " in warning
    assert "the warehouse keeps what it logged" in warning
    with duckdb.connect(str(build_database(hostile.warehouse)), read_only=True) as con:
        assert con.execute("SELECT SITEID, EXTRACT_ID FROM raw.landing_changes").fetchall() == [("GOOD01", EXTRACT)]
    assert hostile.after_that.returncode == 0, hostile.after_that.stderr
    assert "nothing new since the last publication" in hostile.after_that.stderr
