"""`regenheart submission`: the ADaM folder of the package (ADSL, ADEFF, ADAE from schema adam, with
their define.xml), written and checked by the same code as the SDTM folder (test_submission.py),
on the same small published warehouse (conftest submission_warehouse)."""

import json
import os
import shutil
from importlib.resources import files

import duckdb
import pyreadstat
import pytest
from lxml import etree

from conftest import run_submission, tree_digest

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
DEF = "{%s}" % NS["def"]
S001 = "NCT04325594-KZ97-001"


@pytest.fixture(scope="module")
def define(submission_package):
    return etree.parse(str(submission_package / "adam" / "define.xml"))


def _text(element) -> str:
    return element.findtext("odm:Description/odm:TranslatedText", namespaces=NS)


def _adam_models(dbt_manifest) -> dict[str, dict]:
    from orchestration.dbt_manifest import MANIFEST_PATH

    nodes = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))["nodes"].values()
    return {n["name"]: n for n in nodes if n["resource_type"] == "model" and n["original_file_path"].startswith("models/adam/")}


def test_every_adam_table_has_its_files_and_define_xml_is_valid(submission_warehouse, submission_package, define):
    with duckdb.connect(str(submission_warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'adam'").fetchall()}
    assert tables == {"adsl", "adeff", "adae"}  # every one has records here
    assert {p.name for p in (submission_package / "adam").iterdir()} == (
        {f"{t}.xpt" for t in tables} | {f"{t}.json" for t in tables} | {"define.xml", "define.html"})
    xsd = etree.XMLSchema(etree.parse(str(files("odmlib") / "schemas" / "define" / "2.1" / "define2-1-0.xsd")))
    assert xsd.validate(define), xsd.error_log
    standards = {s.get("OID"): (s.get("Name"), s.get("Type"), s.get("PublishingSet"), s.get("Version"))
                 for s in define.iterfind(".//def:Standards/def:Standard", NS)}
    assert standards == {"STD.ADAMIG.1.3": ("ADaMIG", "IG", None, "1.3"),
                         "STD.CT.ADAM.2026-03-27": ("CDISC/NCI", "CT", "ADaM", "2026-03-27"),
                         "STD.CT.SDTM.2025-03-28": ("CDISC/NCI", "CT", "SDTM", "2025-03-28")}
    groups = {g.get("Name"): g for g in define.iterfind(".//odm:ItemGroupDef", NS)}
    assert list(groups) == ["ADSL", "ADAE", "ADEFF"]  # the subject-level dataset first
    for name, group in groups.items():
        assert (group.get("Purpose"), group.get(DEF + "StandardOID"), group.get("Domain")) == ("Analysis", "STD.ADAMIG.1.3", None)
        assert group.get("Repeating") == ("No" if name == "ADSL" else "Yes")
        assert group.find("def:leaf", NS).get(f"{{{NS['xlink']}}}href") == f"{name.lower()}.xpt"
    classes = {name: g.find("def:Class", NS).get("Name") for name, g in groups.items()}
    assert classes == {"ADSL": "SUBJECT LEVEL ANALYSIS DATASET", "ADEFF": "BASIC DATA STRUCTURE",
                       "ADAE": "OCCURRENCE DATA STRUCTURE"}
    assert [s.get("Name") for s in groups["ADAE"].iterfind("def:Class/def:SubClass", NS)] == ["ADVERSE EVENT"]
    # an NCI codelist of each seed names its CT standard; a sponsor codelist none
    standard_of = {c.get("OID"): c.get(DEF + "StandardOID") for c in define.iterfind(".//odm:CodeList", NS)}
    assert standard_of["CL.SEX"] == "STD.CT.SDTM.2025-03-28" and standard_of["CL.DATEFL"] == "STD.CT.ADAM.2026-03-27"
    assert standard_of["CL.PARAMCD"] is None


def test_adeff_has_value_level_metadata_by_paramcd(submission_warehouse, define):
    with duckdb.connect(str(submission_warehouse), read_only=True) as con:
        codes = [c for (c,) in con.execute("SELECT DISTINCT PARAMCD FROM adam.adeff ORDER BY PARAMCD").fetchall()]
    assert "LVEFECHO" in codes
    aval = define.find(".//odm:ItemDef[@OID='IT.ADEFF.AVAL']", NS)
    assert aval.find("def:ValueListRef", NS).get("ValueListOID") == "VL.ADEFF.AVAL"
    value_list = define.find(".//def:ValueListDef[@OID='VL.ADEFF.AVAL']", NS)
    refs = list(value_list.iterfind("odm:ItemRef", NS))
    assert [r.get("ItemOID") for r in refs] == [f"IT.ADEFF.AVAL.{code}" for code in codes]
    assert [r.find("def:WhereClauseRef", NS).get("WhereClauseOID") for r in refs] == [f"WC.ADEFF.PARAMCD.{c}" for c in codes]
    where = define.find(".//def:WhereClauseDef[@OID='WC.ADEFF.PARAMCD.LVEFECHO']/odm:RangeCheck", NS)
    assert (where.get("Comparator"), where.get(DEF + "ItemOID"), where.findtext("odm:CheckValue", namespaces=NS)) == (
        "EQ", "IT.ADEFF.PARAMCD", "LVEFECHO")
    # LVEF by echo 27.5 %: three digits, one decimal
    lvef = define.find(".//odm:ItemDef[@OID='IT.ADEFF.AVAL.LVEFECHO']", NS)
    assert (lvef.get("Name"), lvef.get("DataType"), lvef.get("Length"), lvef.get("SignificantDigits")) == ("AVAL", "float", "3", "1")
    assert define.find(".//def:ValueListDef[@OID='VL.ADEFF.AVALC']", NS) is not None


def test_a_derived_variable_has_its_yml_description_as_method_and_a_predecessor_its_source(define, dbt_manifest):
    models = _adam_models(dbt_manifest)
    derived = [(model["alias"].upper(), column) for model in models.values() for column in model["columns"].values()
               if column["config"]["meta"].get("origin") == "Derived"]
    assert derived
    for dataset, column in derived:
        ref = define.find(f".//odm:ItemGroupDef[@OID='IG.{dataset}']/odm:ItemRef[@ItemOID='IT.{dataset}.{column['name']}']", NS)
        method = define.find(f".//odm:MethodDef[@OID='{ref.get('MethodOID')}']", NS)
        assert _text(method) == " ".join(column["description"].split()), (dataset, column["name"])
    age = define.find(".//odm:ItemDef[@OID='IT.ADSL.AGE']", NS)
    origin = age.find("def:Origin", NS)
    assert (origin.get("Type"), _text(origin)) == ("Predecessor", "DM.AGE")
    comment = define.find(f".//def:CommentDef[@OID='{age.get(DEF + 'CommentOID')}']", NS)
    assert _text(comment) == " ".join(models["adam_adsl"]["columns"]["AGE"]["description"].split())


def test_dates_are_sas_dates_in_the_xpt_file_and_iso_text_in_the_json_file(submission_package, define):
    trtsdt = define.find(".//odm:ItemDef[@OID='IT.ADSL.TRTSDT']", NS)
    assert (trtsdt.get("DataType"), trtsdt.get(DEF + "DisplayFormat")) == ("integer", "DATE9.")
    adsl = json.loads((submission_package / "adam" / "adsl.json").read_text(encoding="utf-8"))
    columns = {c["name"]: c for c in adsl["columns"]}
    assert columns["TRTSDT"] == {"itemOID": "IT.ADSL.TRTSDT", "name": "TRTSDT", "label": "Date of First Exposure to Treatment",
                                 "dataType": "date", "targetDataType": "integer", "displayFormat": "DATE9."}
    assert (columns["TRTSDTM"]["dataType"], columns["TRTSDTM"]["displayFormat"]) == ("datetime", "DATETIME20.")
    assert [c["name"] for c in adsl["columns"] if "keySequence" in c] == ["STUDYID", "USUBJID"]
    rows = [dict(zip(columns, row)) for row in adsl["rows"]]
    assert (rows[0]["USUBJID"], rows[0]["TRTSDT"], rows[0]["TRTSDTM"]) == (S001, "2020-03-20", "2020-03-20T10:30:00")
    assert rows[1]["TRTSDT"] is None  # never infused
    frame, meta = pyreadstat.read_xport(str(submission_package / "adam" / "adsl.xpt"))
    assert meta.file_label == "Subject-Level Analysis Dataset" and list(frame.columns) == list(columns)
    assert str(frame.loc[0, "TRTSDT"]) == "2020-03-20" and meta.original_variable_types["TRTSDT"] == "DATE9."


def test_conformance_json_has_the_adam_folder(submission_package):
    conformance = json.loads((submission_package / "conformance.json").read_text())
    standards = conformance["standards"]
    assert (standards["ADaMIG"], standards["SDTMIG"]) == ("1.3", "3.4")
    assert "ADaM CT 2026-03-27" in standards["controlled_terminology"]
    adam = conformance["adam"]
    assert (adam["folder"], adam["standard"]) == ("adam", "ADaMIG 1.3")
    assert adam["controlled_terminology"] == ["ADaM CT 2026-03-27", "SDTM CT 2025-03-28"]
    assert [(d["dataset"], d["files"]) for d in adam["datasets"]] == [
        ("ADAE", ["adae.xpt", "adae.json"]), ("ADEFF", ["adeff.xpt", "adeff.json"]), ("ADSL", ["adsl.xpt", "adsl.json"])]
    assert {d["dataset"]: d["records"] for d in adam["datasets"]}["ADSL"] == 2
    assert {c["check"] for c in adam["checks"]} == {
        "codelist-values", "dataset-json-schema", "define-data-agreement", "define-xml-schema", "model-metadata"}
    assert all(c["checked"] > 0 for c in adam["checks"])
    assert (adam["failures"], adam["xpt_adjustments"], adam["not_submitted"]) == ([], [], [])
    assert conformance["failures"] == []


def test_the_study_report_links_both_define_html_and_says_what_each_folder_holds(submission_warehouse, submission_package):
    report = submission_warehouse.parent / "reports" / "study_report.html"
    html = report.read_text(encoding="utf-8")
    conformance = json.loads((submission_package / "conformance.json").read_text())
    for key, name in (("sdtm", "SDTM"), ("adam", "ADaM")):
        href = f"../submission/{key}/define.html"
        assert f'<li id="submission-package-{key}">{name} (<a href="{href}">{key}/define.html</a>)' in html
        assert (report.parent / href).resolve() == (submission_package / key / "define.html").resolve()
        assert (report.parent / href).is_file()
    adam = conformance["adam"]
    records = sum(d["records"] for d in adam["datasets"])
    checks = sum(c["checked"] for c in adam["checks"])
    assert (f"ADaMIG 1.3, ADaM CT 2026-03-27, SDTM CT 2025-03-28; 3 datasets, {records:,} records (ADAE, ADEFF, ADSL); "
            f"{checks:,} checks made, 0 failures</li>") in html


def test_define_html_links_variables_methods_codelists_value_level_metadata_and_predecessors(submission_package):
    html = (submission_package / "adam" / "define.html").read_text(encoding="utf-8")
    sdtm = (submission_package / "sdtm" / "define.html").read_text(encoding="utf-8")
    assert "<a href='#IG.ADEFF'>ADEFF</a>" in html and "<h2 id='IG.ADEFF'>" in html
    assert "<a href='#VL.ADEFF.AVAL'>value-level metadata</a>" in html and "<h3 id='VL.ADEFF.AVAL'>" in html
    assert "<td>PARAMCD EQ LVEFECHO</td>" in html
    assert "<a href='#CL.PARAMCD'>CL.PARAMCD</a>" in html and "<h3 id='CL.PARAMCD'>" in html
    assert "(<a href='#MT.ADSL.TRTSDT'>method</a>)" in html and "<tr id='MT.ADSL.TRTSDT'>" in html
    assert "<a href='#IT.ADSL.TRTSDT'>ADSL.TRTSDT</a>" in html  # the method's "used by" back to the variable
    assert "CDISC/NCI ADaM CT 2026-03-27" in html and "CDISC/NCI SDTM CT 2025-03-28" in html
    # a predecessor in SDTM links to the SDTM page; one in ADSL to this page
    assert "Predecessor: <a href='../sdtm/define.html#IT.DM.AGE'>DM.AGE</a>" in html and "<tr id='IT.DM.AGE'>" in sdtm
    assert "Predecessor: <a href='#IT.ADSL.TRTSDT'>ADSL.TRTSDT</a>" in html


def test_an_adam_value_outside_its_codelist_fails_and_keeps_the_previous_package(submission_warehouse, submission_package,
                                                                                 tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(submission_warehouse, warehouse)
    assert run_submission(warehouse).returncode == 0
    before = tree_digest(tmp_path / "submission")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE adam.adae SET AESEV = 'CATASTROPHIC'")
    result = run_submission(warehouse)
    assert result.returncode == 3, result.stderr
    assert "FAILED codelist-values: adam/ADAE.AESEV: values ['CATASTROPHIC'] are not in codelist CL.AESEV" in result.stderr
    assert "FAILED" not in result.stderr.replace("FAILED codelist-values: adam/ADAE.AESEV", "")
    assert "the previous package" in result.stderr.splitlines()[-1]
    assert tree_digest(tmp_path / "submission") == before
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".submission")]


def test_the_adam_standard_is_described_once_and_written_by_the_same_code():
    """The two folders differ only by their Standard: a dataset's value-level key, sequence and
    subclass come from it."""
    from orchestration.submission.metadata import Dataset, Variable
    from orchestration.submission.metadata import _subclass
    from orchestration.submission.standards import ADAM, SDTM, STANDARDS

    assert [s.key for s in STANDARDS] == ["sdtm", "adam"]
    variable = Variable("PARAMCD", "Parameter Code", "rule", "Derived", None, "PARAMCD", True)
    adeff = Dataset("ADEFF", "adeff", "adam_adeff", "l", "", "BASIC DATA STRUCTURE", "s", ("USUBJID",), (variable,), ADAM)
    assert (adeff.value_key, adeff.value_results, adeff.sequence, adeff.schema) == ("PARAMCD", {"AVAL", "AVALC"}, "ASEQ", "adam")
    lbtestcd = Variable("LBTESTCD", "Lab Test or Examination Short Name", "rule", "Collected", "lb.csv", None, True)
    lb = Dataset("LB", "lb", "sdtm_lb", "l", "", "FINDINGS", "s", ("USUBJID",), (lbtestcd,), SDTM)
    assert (lb.value_key, lb.sequence, lb.schema) == ("LBTESTCD", "LBSEQ", "sdtm")
    assert "LBORRES" in lb.value_results
    aeterm = Variable("AETERM", "Reported Term", "rule", "Predecessor", "AE.AETERM", None, False)
    assert _subclass(ADAM, "OCCURRENCE DATA STRUCTURE", [aeterm]) == "ADVERSE EVENT"
    assert _subclass(ADAM, "BASIC DATA STRUCTURE", [aeterm]) is None
