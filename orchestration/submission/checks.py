"""The blocking checks of `regenheart submission`, on the files it wrote into each folder (sdtm,
adam) before they replace the previous package: define.xml against the Define-XML 2.1 schema (the
copy odmlib ships); each <dataset>.json against the Dataset-JSON v1.1 schema
(dataset-json-1.1.schema.json beside this file: its head and its first and last rows, see
check_dataset_json); each file's size as written; and define.xml and the data agreeing both ways
(agreement.py): the same datasets, variables in the same order, labels, types and lengths in
define.xml, the XPT file, the Dataset-JSON file, the published table and the model's metadata;
every value of a variable with a codelist in that codelist; a non-extensible NCI codelist holding
NCI terms only. Each folder's checks are counted and reported on their own (Checks.folder).
"""

from __future__ import annotations

import json
import struct
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

import jsonschema
from lxml import etree


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
    folder: str = ""  # the package's folder checked: sdtm, adam

    def __str__(self) -> str:
        where = f"{self.dataset}.{self.variable}" if self.variable else self.dataset or "package"
        return f"{self.check}: {self.folder + '/' if self.folder else ''}{where}: {self.message}"

    def record(self) -> dict:
        return {"check": self.check, "folder": self.folder, "dataset": self.dataset, "variable": self.variable,
                "message": self.message}


@dataclass
class Checks:
    """The checks made on one folder of the package and the findings; datasets are written (and
    checked) on several threads."""
    folder: str = ""
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, name: str, ok: bool, dataset: str = "", variable: str = "", message: str = "") -> bool:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1
            if not ok:
                self.findings.append(Finding(name, dataset, variable, message, self.folder))
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
    sampled_rows: int  # rows read back: the first and the last SAMPLE_ROWS


SAMPLE_ROWS = 1000
SCHEMA_ROWS = 20
_TAIL_BYTES = 4 << 20
_JSON_TYPES = {"string": (str,), "integer": (int,), "double": (int, float), "decimal": (str,), "boolean": (bool,)}


def check_dataset_json(checks: Checks, dataset: str, path: Path, written_bytes: int, written_rows: int) -> JsonFile | None:
    """The file as written (its size), its head against the Dataset-JSON v1.1 schema, and its first
    and last SAMPLE_ROWS rows: each a JSON array of one value per column, of the column's dataType
    or null, the rows separated by commas and the document closed by `]}`.

    The rows between are not read back: every row is made by the same SQL expression (json_array
    of the columns), and at 50 x 2,000 reading 4 GB back doubled the package's time; the size check
    finds a file cut short or written twice."""
    size = path.stat().st_size
    checks.check(JSON_SCHEMA, size == written_bytes, dataset, "",
                 f"{path.name}: {size} bytes on disk, {written_bytes} written")
    with path.open("rb") as f:
        first = f.readline()
        head = [f.readline() for _ in range(2 * SAMPLE_ROWS + 1)]
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read().split(b"\n")
    try:
        header = json.loads(first.decode("utf-8").rstrip("\n") + "]}")
    except ValueError as exc:
        checks.check(JSON_SCHEMA, False, dataset, "", f"{path.name}: its first line is no JSON document head: {exc}")
        return None
    head = [line.rstrip(b"\n") for line in head if line]
    if size > _TAIL_BYTES:
        tail = tail[1:]  # the first line read there may be the end of one
    ending_ok = tail[-2:] == [b"]}", b""]
    tail = tail[:-2][-SAMPLE_ROWS:] if ending_ok else []
    if written_rows <= 2 * SAMPLE_ROWS:  # the head holds every row: read them all from there
        head, tail = head[:written_rows], []
    else:
        head = head[:SAMPLE_ROWS]
    lines = head + tail
    last_is_sampled = bool(lines) and written_rows > 0
    structure = ending_ok and all(line.endswith(b",") for line in lines[:-1]) and (
        not last_is_sampled or not lines[-1].endswith(b","))
    checks.check(JSON_SCHEMA, structure, dataset, "",
                 f"{path.name}: not one JSON document (rows followed by a comma but the last, then `]}}`)")
    rows, unreadable = [], 0
    for line in lines:
        try:
            rows.append(json.loads(line.rstrip(b",")))
        except ValueError:
            unreadable += 1
    # the schema's Python validator takes seconds on thousands of rows: it reads the first few; the
    # types of all sampled rows are checked below
    errors = sorted(dataset_json_validator().iter_errors({**header, "rows": rows[:SCHEMA_ROWS]}), key=lambda e: list(e.path))
    checks.check(JSON_SCHEMA, not errors and not unreadable, dataset, "", f"{path.name} is not valid Dataset-JSON v1.1: " + "; ".join(
        [f"{unreadable} row(s) are not JSON"] * bool(unreadable) + [
            f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message[:160]}" for e in errors[:3]]))
    if errors:
        return None
    types = [_JSON_TYPES.get(c["dataType"], (object,)) for c in header["columns"]]
    bad = [row for row in rows if len(row) != len(types) or any(
        value is not None and (not isinstance(value, kind) or isinstance(value, bool) and bool not in kind)
        for value, kind in zip(row, types))]
    checks.check(JSON_SCHEMA, not bad, dataset, "",
                 f"{path.name}: {len(bad)} row(s) are not {len(types)} values of their columns' dataType, e.g. {str(bad[:1])[:200]}")
    checks.check(JSON_SCHEMA, header["records"] == written_rows, dataset, "",
                 f"{path.name}: records is {header['records']} but {written_rows} rows were written")
    return JsonFile(header, len(rows))


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
    records_at: int  # where the first observation starts

    def size(self, rows: int) -> int:
        """The file's size with `rows` observations (the last 80-byte record blank-padded)."""
        data = rows * sum(v.length for v in self.variables)
        return self.records_at + data + (-data % 80)


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
    namestrs = 140 * count
    return XptHeader(name, label, variables, start + namestrs + (-namestrs % 80) + 80)


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
