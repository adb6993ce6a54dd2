"""The blocking checks of `regenheart submission`, on the files it wrote (before they replace the
previous package): define.xml against the Define-XML 2.1 schema (the copy odmlib ships); each
<dataset>.json against the Dataset-JSON v1.1 schema (dataset-json-1.1.schema.json beside this
file); and define.xml and the data agreeing both ways: the same datasets, variables in the same
order, labels, types and lengths in define.xml, the XPT file, the Dataset-JSON file, the published
table and the model's metadata; every value of a variable with a codelist in that codelist (in
define.xml, value-level items included); a non-extensible NCI codelist holding NCI terms only.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

import duckdb
import jsonschema
from lxml import etree

from orchestration.sql import literal

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DEFINE_SCHEMA = "define-xml-schema"
JSON_SCHEMA = "dataset-json-schema"
AGREEMENT = "define-data-agreement"
CODELIST = "codelist-values"
METADATA = "model-metadata"


@dataclass(frozen=True)
class Finding:
    check: str
    dataset: str
    variable: str
    message: str

    def __str__(self) -> str:
        where = f"{self.dataset}.{self.variable}" if self.variable else self.dataset or "package"
        return f"{self.check}: {where}: {self.message}"

    def record(self) -> dict:
        return {"check": self.check, "dataset": self.dataset, "variable": self.variable, "message": self.message}


@dataclass
class Checks:
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def check(self, name: str, ok: bool, dataset: str = "", variable: str = "", message: str = "") -> bool:
        self.counts[name] = self.counts.get(name, 0) + 1
        if not ok:
            self.findings.append(Finding(name, dataset, variable, message))
        return ok


@cache
def define_schema() -> etree.XMLSchema:
    xsd = files("odmlib") / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


@cache
def dataset_json_validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((files("orchestration.submission") / "dataset-json-1.1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


def check_define_schema(checks: Checks, define_path: Path) -> etree._ElementTree | None:
    try:
        doc = etree.parse(str(define_path))
    except etree.XMLSyntaxError as exc:
        checks.check(DEFINE_SCHEMA, False, "define.xml", "", f"not well-formed XML: {exc}")
        return None
    schema = define_schema()
    valid = schema.validate(doc)
    errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
    checks.check(DEFINE_SCHEMA, valid, "define.xml", "", f"not valid against the Define-XML 2.1 schema: {errors}")
    return doc


@dataclass(frozen=True)
class JsonFile:
    header: dict  # the document without its rows
    rows: int
    bad_rows: int  # rows that are not a JSON array of one value per column


def check_dataset_json(checks: Checks, con: duckdb.DuckDBPyConnection, dataset: str, path: Path) -> JsonFile | None:
    """The document's fields against the schema, then its rows, read back by DuckDB (in parallel)
    as the file's lines: every row a JSON array of one value per column, the rows separated by
    commas and closed by `]}` (so that the file is one JSON document)."""
    with path.open("r", encoding="utf-8") as f:
        first = f.readline().rstrip("\n")
    try:
        header = json.loads(first + "]}")
    except ValueError as exc:
        checks.check(JSON_SCHEMA, False, dataset, "", f"{path.name}: its first line is no JSON document head: {exc}")
        return None
    errors = sorted(dataset_json_validator().iter_errors(header), key=lambda e: list(e.path))
    checks.check(JSON_SCHEMA, not errors, dataset, "", f"{path.name} is not valid Dataset-JSON v1.1: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message[:160]}" for e in errors[:3]))
    if errors:
        return None
    width = len(header["columns"])
    lines = (f"read_csv({literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1f', "
             "quote = '', escape = '', auto_detect = false, max_line_size = 8388608, strict_mode = false)")
    total, rows, commas, bad, last = con.execute(f"""
        WITH lines AS (SELECT line, starts_with(line, '[') AS is_row, rtrim(line, ',') AS value FROM {lines}),
        rows AS (
            SELECT is_row, line,
                   CASE WHEN is_row AND json_valid(value) AND starts_with(ltrim(value), '[')
                        THEN json_array_length(value) END AS width
            FROM lines)
        SELECT count(*),
               count(*) FILTER (WHERE is_row),
               count(*) FILTER (WHERE is_row AND ends_with(line, ',')),
               count(*) FILTER (WHERE is_row AND (width IS NULL OR width != {width})),
               count(*) FILTER (WHERE line = ']}}')
        FROM rows""").fetchone()
    checks.check(JSON_SCHEMA, total == rows + 2 and last == 1 and commas == max(rows - 1, 0), dataset, "",
                 f"{path.name}: not one JSON document (lines {total}, rows {rows}, rows followed by a comma {commas})")
    checks.check(JSON_SCHEMA, bad == 0, dataset, "", f"{path.name}: {bad} row(s) are not an array of {width} values")
    checks.check(JSON_SCHEMA, header["records"] == rows, dataset, "",
                 f"{path.name}: records is {header['records']} but the file has {rows} rows")
    return JsonFile(header, rows, bad)


@dataclass(frozen=True)
class XptVariable:
    name: str
    label: str
    numeric: bool
    length: int


@dataclass(frozen=True)
class XptHeader:
    dataset: str
    label: str
    variables: list[XptVariable]


def read_xpt_header(path: Path) -> XptHeader:
    """The member's name and label and its variables (SAS transport v5 NAMESTR records)."""
    data = path.open("rb").read(8192)
    count = 0
    position = 0
    while True:
        record = data[position:position + 80]
        if record.startswith(b"HEADER RECORD*******MEMBER  HEADER RECORD"):
            descriptor_1 = data[position + 160:position + 240]
            descriptor_2 = data[position + 240:position + 320]
            namestr_header = data[position + 320:position + 400]
            count = int(namestr_header[54:58])
            break
        position += 80
        if position > len(data):
            raise ValueError(f"{path.name}: no MEMBER header")
    name = descriptor_1[8:16].decode("utf-8").strip()
    label = descriptor_2[32:72].decode("utf-8", "replace").strip()
    start = position + 400
    need = start + 140 * count
    if need > len(data):
        data = path.open("rb").read(need + 80)
    variables = []
    for i in range(count):
        fields = struct.unpack(">hhhh8s40s8shhh2s8shhi52s", data[start + 140 * i:start + 140 * (i + 1)])
        variables.append(XptVariable(fields[4].decode().strip(), fields[5].decode("utf-8", "replace").strip(),
                                     fields[0] == 1, fields[2]))
    return XptHeader(name, label, variables)


def text(element) -> str | None:
    found = element.find("odm:Description/odm:TranslatedText", NS) if element is not None else None
    return found.text.strip() if found is not None and found.text else None


@dataclass(frozen=True)
class DefineDataset:
    oid: str
    label: str | None
    items: list  # ItemDef elements in OrderNumber order


def define_datasets(doc: etree._ElementTree) -> tuple[dict[str, DefineDataset], dict, dict]:
    item_defs = {i.get("OID"): i for i in doc.iterfind(".//odm:ItemDef", NS)}
    code_lists = {c.get("OID"): c for c in doc.iterfind(".//odm:CodeList", NS)}
    datasets = {}
    for group in doc.iterfind(".//odm:MetaDataVersion/odm:ItemGroupDef", NS):
        refs = sorted(group.iterfind("odm:ItemRef", NS), key=lambda r: int(r.get("OrderNumber") or 0))
        datasets[group.get("Name")] = DefineDataset(group.get("OID"), text(group), [item_defs.get(r.get("ItemOID")) for r in refs])
    return datasets, item_defs, code_lists


def codelist_values(codelist) -> set[str]:
    return {e.get("CodedValue") for e in codelist.iterfind("odm:CodeListItem", NS)} | {
        e.get("CodedValue") for e in codelist.iterfind("odm:EnumeratedItem", NS)}
