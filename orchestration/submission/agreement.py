"""The blocking checks of one standard's folder once its files are written: define.xml against its
schema, and define.xml, the files and the data agreeing both ways (each Dataset-JSON file was
checked against its schema as it was written). The same checks for every standard's folder."""

from __future__ import annotations

from pathlib import Path

from orchestration.submission import checks as C
from orchestration.submission.define_xml import DatasetFacts
from orchestration.submission.metadata import Dataset
from orchestration.submission.published import Column

_DISPLAY_FORMAT = "{http://www.cdisc.org/ns/def/v2.1}DisplayFormat"


def check_folder(folder: Path, facts: list[DatasetFacts], terminology, records: dict[str, int], checks: C.Checks,
                 json_files: dict[str, C.JsonFile | None]) -> None:
    doc = C.check_define_schema(checks, folder / "define.xml")
    if doc is None:
        return
    defined, item_defs, code_lists = C.define_datasets(doc)
    files = {p.stem.upper() for p in folder.glob("*.xpt")} | {p.stem.upper() for p in folder.glob("*.json")}
    for name in sorted(set(defined) | files):
        checks.check(C.AGREEMENT, name in defined, name, "", "a data file with no ItemGroupDef in define.xml")
        checks.check(C.AGREEMENT, (folder / f"{name.lower()}.xpt").is_file(), name, "", f"no {name.lower()}.xpt")
        checks.check(C.AGREEMENT, (folder / f"{name.lower()}.json").is_file(), name, "", f"no {name.lower()}.json")
    for fact in facts:
        ds = fact.dataset
        d = defined.get(ds.name)
        if d is None:
            continue
        json_file = json_files.get(ds.name)
        xpt_path = folder / f"{ds.file_stem}.xpt"
        xpt = C.read_xpt_header(xpt_path)
        checks.check(C.AGREEMENT, xpt_path.stat().st_size == xpt.size(records[ds.name]), ds.name, "",
                     f"{xpt_path.name}: {xpt_path.stat().st_size} bytes, {xpt.size(records[ds.name])} for {records[ds.name]} records")
        table = [c.name for c in fact.columns]
        names = [i.get("Name") if i is not None else None for i in d.items]
        checks.check(C.AGREEMENT, names == table, ds.name, "", f"define.xml variables {names} are not the data's {table}")
        checks.check(C.AGREEMENT, [v.name for v in xpt.variables] == table, ds.name, "",
                     f"the XPT variables {[v.name for v in xpt.variables]} are not the data's {table}")
        checks.check(C.AGREEMENT, xpt.dataset == ds.name, ds.name, "", f"the XPT member is {xpt.dataset!r}")
        checks.check(C.AGREEMENT, d.label == xpt.label == ds.label, ds.name, "",
                     f"dataset label: define.xml {d.label!r}, XPT {xpt.label!r}, model {ds.label!r}")
        if json_file is not None:
            header = json_file.header
            checks.check(C.AGREEMENT, header["itemGroupOID"] == d.oid, ds.name, "",
                         f"{ds.file_stem}.json itemGroupOID {header['itemGroupOID']} is not define.xml's {d.oid}")
            checks.check(C.AGREEMENT, [c["name"] for c in header["columns"]] == table, ds.name, "",
                         f"{ds.file_stem}.json columns are not the data's {table}")
            checks.check(C.AGREEMENT, [c["itemOID"] for c in header["columns"]] == [i.get("OID") for i in d.items if i is not None],
                         ds.name, "", f"{ds.file_stem}.json itemOIDs are not define.xml's ItemOIDs")
            checks.check(C.AGREEMENT, header["label"] == d.label, ds.name, "", f"{ds.file_stem}.json label {header['label']!r}")
            checks.check(C.AGREEMENT, header["records"] == records.get(ds.name), ds.name, "",
                         f"{ds.file_stem}.json records {header['records']}, data {records.get(ds.name)}")
        json_columns = {c["name"]: c for c in (json_file.header["columns"] if json_file else [])}
        xpt_variables = {v.name: v for v in xpt.variables}
        for column, item in zip(fact.columns, d.items):
            if item is None or item.get("Name") != column.name:
                continue
            _check_variable(checks, ds, column, item, xpt_variables.get(column.name), json_columns.get(column.name),
                            fact, code_lists)
    nci = {name: cl for name, cl in terminology.items() if cl.code and not cl.extensible}
    for oid, codelist in code_lists.items():
        name = oid.removeprefix("CL.")
        if name in nci:
            sponsor = [e.get("CodedValue") for e in list(codelist) if e.tag.endswith("Item")
                       and e.find("odm:Alias[@Context='nci:ExtCodeID']", C.NS) is None]
            checks.check(C.CODELIST, not sponsor, "define.xml", oid,
                         f"non-extensible NCI codelist {nci[name].code} has terms without an NCI code: {sponsor[:5]}")


def _check_variable(checks, ds: Dataset, column: Column, item, xpt_var, json_col, fact: DatasetFacts, code_lists):
    name = column.name
    meta = ds.variable(name)
    label = C.text(item)
    checks.check(C.AGREEMENT, xpt_var is not None and label == xpt_var.label == meta.label, ds.name, name,
                 f"label: define.xml {label!r}, XPT {xpt_var.label if xpt_var else None!r}, model {meta.label!r}")
    if json_col is not None:
        checks.check(C.AGREEMENT, json_col["label"] == label, ds.name, name, f"label in the JSON file {json_col['label']!r}")
    dtype = item.get("DataType")
    numeric = dtype in ("integer", "float")
    checks.check(C.AGREEMENT, xpt_var is not None and xpt_var.numeric == numeric == column.numeric, ds.name, name,
                 f"type: define.xml {dtype}, XPT {'numeric' if xpt_var and xpt_var.numeric else 'text'}, data {column.duckdb_type}")
    if json_col is not None:
        # a date or datetime is ISO 8601 text in the JSON file, a number (targetDataType) where it lands
        json_numeric = json_col["dataType"] in ("integer", "double") or json_col.get("targetDataType") == "integer"
        checks.check(C.AGREEMENT, json_numeric == numeric, ds.name, name,
                     f"type: define.xml {dtype}, JSON {json_col['dataType']}")
        checks.check(C.AGREEMENT, json_col.get("displayFormat") == item.get(_DISPLAY_FORMAT), ds.name, name,
                     f"display format: define.xml {item.get(_DISPLAY_FORMAT)}, JSON {json_col.get('displayFormat')}")
    if dtype == "text":
        length = int(item.get("Length") or 0)
        longest = fact.text_width.get(name, 0)
        checks.check(C.AGREEMENT, xpt_var is not None and length == xpt_var.length >= max(longest, 1), ds.name, name,
                     f"length: define.xml {length}, XPT {xpt_var.length if xpt_var else None}, longest value {longest} bytes")
        if json_col is not None:
            checks.check(C.AGREEMENT, json_col.get("length") == length, ds.name, name,
                         f"length: define.xml {length}, JSON {json_col.get('length')}")
    ref = item.find("odm:CodeListRef", C.NS)
    expected = f"CL.{meta.codelist}" if meta.codelist else None
    checks.check(C.AGREEMENT, (ref.get("CodeListOID") if ref is not None else None) == expected, ds.name, name,
                 f"define.xml's codelist is not the model's {meta.codelist}")
    if ref is not None:
        codelist = code_lists.get(ref.get("CodeListOID"))
        if checks.check(C.CODELIST, codelist is not None, ds.name, name, f"CodeListRef to a missing {ref.get('CodeListOID')}"):
            outside = sorted(fact.measures.values.get(name, set()) - C.codelist_values(codelist))
            checks.check(C.CODELIST, not outside, ds.name, name,
                         f"values {outside[:5]} are not in codelist {ref.get('CodeListOID')}")
