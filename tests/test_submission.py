"""`regenheart submission`: the SDTM folder of the package of a small published warehouse, values
checked by hand (the ADaM folder: test_submission_adam.py, on the same package).

Site KZ97, one transfer (conftest submission_rows): subject 001 infused 2020-03-20T10:30 with one
AE (Cyrillic term, MILD); subject 002 screened, inclusion criterion IN05 not met (so IE has one
record), never infused, disposition PHYSICIAN DECISION.
"""

import json
import shutil
from importlib.resources import files
from pathlib import Path

import duckdb
import pyreadstat
import pytest
import yaml
from lxml import etree

from conftest import REPO_ROOT, read_parts, run_submission, tree_digest

SITE, T1 = "KZ97", "20210101T020000Z"
S001, S002 = "NCT04325594-KZ97-001", "NCT04325594-KZ97-002"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def published(submission_warehouse) -> Path:
    return submission_warehouse


@pytest.fixture(scope="module")
def package(submission_package) -> Path:
    return submission_package


def _define(package: Path):
    return etree.parse(str(package / "sdtm" / "define.xml"))


def test_every_sdtm_table_has_its_files_and_define_xml_is_valid(published, package):
    with duckdb.connect(str(published), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'sdtm'").fetchall()}
    models = {m.stem.removeprefix("sdtm_") for m in (Path(__file__).parents[1] / "dbt_project" / "models" / "sdtm").glob("sdtm_*.sql")}
    assert tables == models and {"dm", "suppdm", "ae", "ds", "ex", "ie", "ts", "se"} <= tables  # every one has records here
    assert {p.name for p in (package / "sdtm").iterdir()} == (
        {f"{t}.xpt" for t in tables} | {f"{t}.json" for t in tables} | {"define.xml", "define.html"})
    xsd = etree.XMLSchema(etree.parse(str(files("odmlib") / "schemas" / "define" / "2.1" / "define2-1-0.xsd")))
    assert xsd.validate(_define(package)), xsd.error_log
    conformance = json.loads((package / "conformance.json").read_text())
    assert conformance["failures"] == [] and conformance["sdtm"]["failures"] == []
    assert conformance["standards"]["SDTMIG"] == "3.4"
    assert conformance["standards"]["controlled_terminology"] == ["SDTM CT 2025-03-28", "ADaM CT 2026-03-27"]
    assert (conformance["sdtm"]["standard"], conformance["sdtm"]["controlled_terminology"]) == ("SDTMIG 3.4", ["SDTM CT 2025-03-28"])
    assert conformance["published_build"]["latest_transfer_per_site"] == {SITE: T1}
    assert conformance["published_build"]["path"] == str(published)
    html = (package / "sdtm" / "define.html").read_text()
    assert "<a href='#IG.DM'>DM</a>" in html and "C66769" in html


def test_define_xml_holds_the_models_metadata(package):
    doc = _define(package)
    dm = doc.find(".//odm:ItemGroupDef[@OID='IG.DM']", NS)
    assert dm.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == "Demographics"
    assert dm.get(f"{{{NS['def']}}}Structure") == "One record per subject"
    assert dm.find("def:Class", NS).get("Name") == "SPECIAL PURPOSE"
    keys = {r.get("ItemOID"): r.get("KeySequence") for r in dm.iterfind("odm:ItemRef", NS) if r.get("KeySequence")}
    assert keys == {"IT.DM.STUDYID": "1", "IT.DM.USUBJID": "2"}
    # AESEQ is Derived: its method is the yml description, word for word
    models = yaml.safe_load((REPO_ROOT / "dbt_project/models/sdtm/_sdtm__models.yml").read_text())["models"]
    aeseq = next(c for m in models if m["name"] == "sdtm_ae" for c in m["columns"] if c["name"] == "AESEQ")
    ref = doc.find(".//odm:ItemGroupDef[@OID='IG.AE']/odm:ItemRef[@ItemOID='IT.AE.AESEQ']", NS)
    assert ref.get("MethodOID") == "MT.AE.AESEQ" and ref.get("OrderNumber") == "4"
    method = doc.find(".//odm:MethodDef[@OID='MT.AE.AESEQ']", NS)
    assert method.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == " ".join(aeseq["description"].split())
    # a collected variable: its origin names the DTS file and field
    aeterm = doc.find(".//odm:ItemDef[@OID='IT.AE.AETERM']", NS)
    origin = aeterm.find("def:Origin", NS)
    assert (origin.get("Type"), origin.get("Source")) == ("Collected", "Investigator")
    assert origin.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == "ae.csv AETERM"
    # "Боль в груди": 12 characters, 22 bytes in UTF-8, the XPT width
    assert (aeterm.get("DataType"), aeterm.get("Length")) == ("text", "22")
    assert doc.find(".//odm:ItemDef[@OID='IT.AE.AESTDTC']", NS).get("DataType") == "datetime"
    # AESEV's codelist with its NCI codes
    aesev = doc.find(".//odm:CodeList[@OID='CL.AESEV']", NS)
    assert aesev.find("odm:Alias", NS).get("Name") == "C66769"
    mild = aesev.find("odm:CodeListItem[@CodedValue='MILD']", NS)
    assert mild.find("odm:Alias", NS).get("Name") == "C41338"
    assert doc.find(".//odm:ItemDef[@OID='IT.AE.AESEV']/odm:CodeListRef", NS).get("CodeListOID") == "CL.AESEV"
    # value-level metadata by IETESTCD: IEORRES of IN05
    vl = doc.find(".//def:ValueListDef[@OID='VL.IE.IEORRES']", NS)
    assert [r.get("ItemOID") for r in vl.iterfind("odm:ItemRef", NS)] == ["IT.IE.IEORRES.IN05"]
    where = doc.find(".//def:WhereClauseDef[@OID='WC.IE.IETESTCD.IN05']/odm:RangeCheck", NS)
    assert (where.get(f"{{{NS['def']}}}ItemOID"), where.findtext("odm:CheckValue", namespaces=NS)) == ("IT.IE.IETESTCD", "IN05")


def test_dataset_json_and_xpt_hold_the_same_rows_as_define_says(package):
    ae = json.loads((package / "sdtm" / "ae.json").read_text(encoding="utf-8"))
    assert (ae["records"], ae["itemGroupOID"], ae["name"], ae["label"]) == (1, "IG.AE", "AE", "Adverse Events")
    assert (ae["datasetJSONVersion"], ae["metaDataRef"], ae["studyOID"]) == ("1.1.0", "define.xml", "NCT04325594")
    columns = [c["name"] for c in ae["columns"]]
    assert ae["columns"][3] == {"itemOID": "IT.AE.AESEQ", "name": "AESEQ", "label": "Sequence Number", "dataType": "integer"}
    assert next(c for c in ae["columns"] if c["name"] == "USUBJID")["keySequence"] == 2
    row = dict(zip(columns, ae["rows"][0]))
    assert (row["USUBJID"], row["AESEQ"], row["AETERM"], row["AESEV"], row["AESTDY"]) == (S001, 1, "Боль в груди", "MILD", 1)
    frame, meta = pyreadstat.read_xport(str(package / "sdtm" / "ae.xpt"))
    assert meta.file_label == "Adverse Events"
    assert list(frame.columns) == columns
    assert dict(zip(meta.column_names, meta.column_labels))["AESEQ"] == "Sequence Number"
    assert (frame.loc[0, "AETERM"], frame.loc[0, "AESEQ"]) == ("Боль в груди", 1.0)
    dm, dm_meta = pyreadstat.read_xport(str(package / "sdtm" / "dm.xpt"))
    assert dm_meta.file_label == "Demographics" and list(dm["USUBJID"]) == [S001, S002]


def test_a_value_outside_its_codelist_fails_and_keeps_the_previous_package(published, package, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    assert run_submission(warehouse).returncode == 0
    before = tree_digest(tmp_path / "submission")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE sdtm.ae SET AESEV = 'CATASTROPHIC'")
    result = run_submission(warehouse)
    assert result.returncode == 3, result.stderr
    assert "FAILED codelist-values: sdtm/AE.AESEV: values ['CATASTROPHIC'] are not in codelist CL.AESEV" in result.stderr
    assert "the previous package" in result.stderr.splitlines()[-1]
    assert tree_digest(tmp_path / "submission") == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".submission")) == []


def test_no_published_warehouse_is_a_usage_error(tmp_path):
    result = run_submission(tmp_path / "warehouse.duckdb")
    assert result.returncode == 2
    assert "no published warehouse" in result.stderr
    assert not (tmp_path / "submission").exists()


def test_the_dagster_job_writes_the_same_package(published, package, tmp_path, dbt_manifest):
    from orchestration.definitions import defs
    from orchestration.defs.resources import WarehouseResource

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    job = defs.resolve_job_def("submission")
    result = job.execute_in_process(
        resources={"warehouse": WarehouseResource(landing_dir=str(tmp_path), warehouse_path=str(warehouse))})
    assert result.success
    assert result.output_for_node("write_submission_package") == str(tmp_path / "submission")
    for folder in ("sdtm", "adam"):
        assert {p.name for p in (tmp_path / "submission" / folder).iterdir()} == {p.name for p in (package / folder).iterdir()}
    assert json.loads((tmp_path / "submission" / "conformance.json").read_text())["failures"] == []
    # the same rows: the JSON files differ only in their creation time
    for name in ("sdtm/dm", "sdtm/ae", "sdtm/suppdm", "adam/adsl", "adam/adae"):
        ours, theirs = (json.loads((folder / f"{name}.json").read_text()) for folder in (tmp_path / "submission", package))
        assert ours["rows"] == theirs["rows"] and ours["columns"] == theirs["columns"]


def test_the_study_report_names_the_package_and_its_result(published, package):
    report = (published.parent / "reports" / "study_report.html").read_text(encoding="utf-8")
    conformance = json.loads((package / "conformance.json").read_text())
    sdtm = conformance["sdtm"]
    assert (f"<tr><th>Submission package</th><td id=\"submission-package\">{package}: every check passed "
            f"(conformance.json, written {conformance['written_at']} from the file published") in report
    records = sum(d["records"] for d in sdtm["datasets"])
    checks = sum(c["checked"] for c in sdtm["checks"])
    assert (f'<li id="submission-package-sdtm">SDTM (<a href="../submission/sdtm/define.html">sdtm/define.html</a>): '
            f"SDTMIG 3.4, SDTM CT 2025-03-28; {len(sdtm['datasets'])} datasets, {records:,} records (AE, CV, DM, ") in report
    assert f"; {checks:,} checks made, 0 failures</li>" in report


def _checked_json(path: Path, written_bytes: int, written_rows: int) -> list[str]:
    from orchestration.submission import checks as C

    checks = C.Checks()
    C.check_dataset_json(checks, "X", path, written_bytes, written_rows)
    return [f.message for f in checks.findings]


def _rows_file(path: Path, rows: list[str]) -> int:
    """A Dataset-JSON file of one integer column `N` holding `rows` (each row's JSON text)."""
    head = {"datasetJSONCreationDateTime": "2026-01-01T00:00:00", "datasetJSONVersion": "1.1.0", "fileOID": "F",
            "dbLastModifiedDateTime": "2026-01-01T00:00:00", "originator": "o", "sourceSystem": {"name": "s", "version": "1"},
            "studyOID": "S", "metaDataVersionOID": "M", "metaDataRef": "define.xml", "itemGroupOID": "IG.X",
            "records": len(rows), "name": "X", "label": "X",
            "columns": [{"itemOID": "IT.X.N", "name": "N", "label": "N", "dataType": "integer"}]}
    text = json.dumps(head)[:-1] + ', "rows": [\n' + ",\n".join(rows) + ("\n" if rows else "") + "]}\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def test_the_dataset_json_check_reads_the_head_and_the_tail_of_a_file(tmp_path):
    from orchestration.submission.checks import SAMPLE_ROWS

    rows = [f"[{i}]" for i in range(3 * SAMPLE_ROWS)]  # more than the head and the tail hold
    good = tmp_path / "good.json"
    size = _rows_file(good, rows)
    assert _checked_json(good, size, len(rows)) == []
    assert json.loads(good.read_text())["rows"][-1] == [3 * SAMPLE_ROWS - 1]
    assert _checked_json(good, size + 1, len(rows)) == [f"good.json: {size} bytes on disk, {size + 1} written"]
    assert _checked_json(good, size, len(rows) + 1) == [f"good.json: records is {len(rows)} but {len(rows) + 1} rows were written"]
    for bad, shown in ((['["one"]'] + rows[1:], "[['one']]"), (rows[:-1] + ["[1, 2]"], "[[1, 2]]")):
        path = tmp_path / "bad.json"
        assert _checked_json(path, _rows_file(path, bad), len(bad)) == [
            f"bad.json: 1 row(s) are not 1 values of their columns' dataType, e.g. {shown}"]
    path = tmp_path / "comma.json"
    size = _rows_file(path, rows)
    path.write_bytes(path.read_bytes().replace(b"]\n]}", b"],\n]}"))  # a comma after the last row
    assert "comma.json: not one JSON document" in " ".join(_checked_json(path, size + 1, len(rows)))
    empty = tmp_path / "empty.json"
    assert _checked_json(empty, _rows_file(empty, []), 0) == []


def test_a_large_subject_dataset_is_read_in_parts_that_are_the_whole_in_order(monkeypatch):
    """Parts cut between subjects, each sorted: one after the other, the rows of one sort of the
    table; a table with a second STUDYID, a missing USUBJID, or another leading key is one part."""
    from orchestration.submission import published

    con = duckdb.connect()
    con.execute("CREATE SCHEMA sdtm")
    con.execute("""CREATE TABLE sdtm.qs AS SELECT 'S' AS STUDYID, 'S-' || (i % 7) AS USUBJID,
                   ['B', 'A', NULL][i % 3 + 1] AS QSTESTCD, i AS QSSEQ FROM range(60) t(i)""")
    order = ["STUDYID", "USUBJID", "QSTESTCD", "QSSEQ"]
    whole = con.execute(published.sorted_parts(con, "qs", order)[0]).fetchall()
    monkeypatch.setattr(published, "PART_ROWS", 20)
    parts = published.sorted_parts(con, "qs", order)
    assert len(parts) == 4  # 60 rows of 7 subjects (9 or 8 each), at most 20 a part but a subject whole
    rows = [row for part in parts for row in con.execute(part).fetchall()]
    assert rows == whole and len(whole) == 60
    assert [r[1] for r in rows[:9]] == ["S-0"] * 9 and rows[0][2] is None  # missing first
    assert len(published.sorted_parts(con, "qs", ["STUDYID", "QSTESTCD"])) == 1
    con.execute("UPDATE sdtm.qs SET STUDYID = 'T' WHERE QSSEQ = 5")
    assert len(published.sorted_parts(con, "qs", order)) == 1
    con.execute("UPDATE sdtm.qs SET STUDYID = 'S', USUBJID = NULL WHERE QSSEQ = 5")
    assert len(published.sorted_parts(con, "qs", order)) == 1


def test_rows_stored_in_order_per_site_are_read_as_stored_in_parts_that_are_the_whole_in_order(monkeypatch):
    """Site B's rows stored first, then site A's (an incremental publication appends a changed
    site): two blocks, read A's first, unsorted, in parts of at most PART_ROWS rows, are the rows of
    one sort of the table. A subject's rows in two places, or more blocks than STORED_RANGES: None."""
    from orchestration.submission import package, published

    con = duckdb.connect()
    con.execute("CREATE SCHEMA sdtm")
    order = ["STUDYID", "USUBJID", "QSTESTCD", "QSSEQ"]
    by_order = "ORDER BY STUDYID, USUBJID, QSTESTCD NULLS FIRST, QSSEQ"
    rows = "SELECT 'S' AS STUDYID, 'S-{site}-' || (i % 3) AS USUBJID, ['B', 'A', NULL][i % 3 + 1] AS QSTESTCD, i AS QSSEQ FROM range(12) t(i)"
    con.execute(f"CREATE TABLE sdtm.qs AS {rows.format(site='B')} {by_order}")
    con.execute(f"INSERT INTO sdtm.qs {rows.format(site='A')} {by_order}")
    whole = con.execute(f"SELECT * FROM sdtm.qs {by_order}").fetchall()
    parts = published.stored_parts(con, "qs", order)
    assert parts == ['(SELECT * FROM "sdtm"."qs" WHERE rowid BETWEEN 12 AND 23)',
                     '(SELECT * FROM "sdtm"."qs" WHERE rowid BETWEEN 0 AND 11)']
    assert read_parts(con, parts, package.OrderCheck(order)) == whole and len(whole) == 24
    monkeypatch.setattr(published, "PART_ROWS", 5)
    assert len(published.stored_parts(con, "qs", order)) == 6  # 12 rows a site: 5 + 5 + 2, twice
    assert read_parts(con, published.stored_parts(con, "qs", order)) == whole
    monkeypatch.setattr(published, "STORED_RANGES", 1)
    assert published.stored_parts(con, "qs", order) is None
    monkeypatch.setattr(published, "STORED_RANGES", 1_000)
    assert published.stored_parts(con, "qs", ["STUDYID", "QSTESTCD"]) is None  # not a subject dataset
    con.execute("INSERT INTO sdtm.qs VALUES ('S', 'S-A-0', 'B', 99)")  # subject S-A-0 now in two places
    assert published.stored_parts(con, "qs", order) is None


def test_rows_stored_out_of_order_are_found_out_and_written_sorted():
    """One block whose rows are not in the dataset's order (a model's ORDER BY not its keys): the
    order check stops the read as stored (across a batch's end too), and the rows are sorted."""
    from types import SimpleNamespace

    from orchestration.submission import package, published

    con = duckdb.connect()
    con.execute("CREATE SCHEMA sdtm")
    con.execute("CREATE TABLE sdtm.qs AS SELECT 'S' AS STUDYID, 'S-1' AS USUBJID, i AS QSSEQ FROM range(8) t(i) ORDER BY i")
    con.execute("UPDATE sdtm.qs SET QSSEQ = 100 WHERE QSSEQ = 3")  # the 4th of 8 rows, the last of the first batch
    order = ["STUDYID", "USUBJID", "QSSEQ"]
    with pytest.raises(package.RowsOutOfOrder):
        read_parts(con, published.stored_parts(con, "qs", order), package.OrderCheck(order))
    said, dataset = [], SimpleNamespace(name="QS", table="qs", schema="sdtm")
    written = package._in_order(con, dataset, order, lambda parts, check: read_parts(con, parts, check), said.append)
    assert [r[2] for r in written] == [0, 1, 2, 4, 5, 6, 7, 100]
    assert said == ["submission: QS: the rows as stored are not in the order of its keys and sequence: writing them sorted instead"]
