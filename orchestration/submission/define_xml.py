"""define.xml (CDISC Define-XML 2.1) of one standard's folder of the package (SDTM, ADaM), built
with lxml from the datasets' metadata (dbt's manifest), the study's terminology and what the data
hold (lengths, digits, test codes or parameters).

OIDs: IG.<DATASET>, IT.<DATASET>.<VARIABLE> (value level: IT.<DATASET>.<VARIABLE>.<CODE>),
CL.<CODELIST>, MT.<DATASET>.<VARIABLE>, COM.<DATASET>[.<VARIABLE>], VL.<DATASET>.<VARIABLE>,
WC.<DATASET>.<--TESTCD or PARAMCD>.<CODE>, LF.<DATASET>. Dataset-JSON's itemGroupOID and itemOIDs
are these. A date or datetime (ADaM's *DT, *DTM) is a SAS number: DataType integer with its
def:DisplayFormat (DATE9., DATETIME20.), as in the XPT file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from orchestration.dts import STUDY_ID
from orchestration.submission.dataset_json import TEMPORAL
from orchestration.submission.metadata import Dataset, Variable
from orchestration.submission.published import Column, Measures, TestCodeMeasures
from orchestration.submission.standards import Standard
from orchestration.submission.terminology import CodeList

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_VERSION = "2.1.0"
ORIGINATOR = "RegenHeart clinical data warehouse"


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def item_group_oid(dataset: Dataset) -> str:
    return f"IG.{dataset.name}"


def item_oid(dataset: Dataset, variable: str) -> str:
    return f"IT.{dataset.name}.{variable}"


@dataclass
class DatasetFacts:
    """What the data say of one dataset, for its define.xml entries."""
    dataset: Dataset
    columns: list[Column]  # the published table's, in order
    measures: Measures | None  # None until measured (the package measures once the files are written)
    text_width: dict[str, int]  # text column -> its XPT width in bytes (Length)
    tests: TestCodeMeasures | None = None  # by the value-level key's codes (--TESTCD, PARAMCD)
    result_columns: list[Column] = field(default_factory=list)


def data_type(column: Column, measures: Measures) -> str:
    if column.kind in TEMPORAL:
        return "integer"  # a SAS date or datetime, with its def:DisplayFormat
    if column.kind != "text":
        return column.kind
    if column.name.endswith("DTC"):
        return "datetime" if measures.has_time.get(column.name) else "date"
    return "text"


def build_define(standard: Standard, facts: list[DatasetFacts], codelists: dict[str, CodeList],
                 created: datetime | None = None, study_name: str = "RegenHeart", description: str = "") -> etree._ElementTree:
    created = created or datetime.now(timezone.utc)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    ig = standard.ig
    root = etree.Element(_odm("ODM"), nsmap=NSMAP)
    root.set("FileType", "Snapshot")
    root.set("FileOID", f"DEF.{STUDY_ID}.{standard.key.upper()}.{created:%Y%m%dT%H%M%S}")
    root.set("CreationDateTime", stamp)
    root.set("ODMVersion", "1.3.2")
    root.set("Originator", ORIGINATOR)
    root.set("SourceSystem", "regenheart")
    root.set("SourceSystemVersion", _version())
    root.set(_def("Context"), "Submission")
    study = etree.SubElement(root, _odm("Study"), OID=STUDY_ID)
    gv = etree.SubElement(study, _odm("GlobalVariables"))
    etree.SubElement(gv, _odm("StudyName")).text = study_name
    etree.SubElement(gv, _odm("StudyDescription")).text = description or (
        f"{study_name} ({STUDY_ID}): intracoronary umbilical cord mesenchymal stem cells in non-ischemic heart failure")
    etree.SubElement(gv, _odm("ProtocolName")).text = STUDY_ID
    mdv = etree.SubElement(study, _odm("MetaDataVersion"), OID=standard.metadata_version_oid,
                           Name=f"{study_name} {standard.title}",
                           Description=f"{ig['Name']} {ig['Version']} {standard.purpose.lower()} datasets")
    mdv.set(_def("DefineVersion"), DEFINE_VERSION)
    standards = etree.SubElement(mdv, _def("Standards"))

    value_lists, where_clauses, groups, items, methods, comments = [], [], [], [], [], []
    used_codelists: list[str] = []

    def use_codelist(name: str | None) -> None:
        if name and name not in used_codelists:
            used_codelists.append(name)

    for fact in sorted(facts, key=_dataset_order):
        ds = fact.dataset
        columns = {c.name: c for c in fact.columns}
        group = etree.Element(_odm("ItemGroupDef"), OID=item_group_oid(ds))
        if standard.domain_attribute:
            group.set("Domain", ds.name)
        group.set("Name", ds.name)
        group.set("Repeating", "No" if ds.name == standard.subject_level else "Yes")
        group.set("IsReferenceData", "Yes" if ds.dataset_class == standard.reference_class else "No")
        group.set("SASDatasetName", ds.name)
        group.set("Purpose", standard.purpose)
        group.set(_def("Structure"), ds.structure)
        group.set(_def("StandardOID"), ig["OID"])
        group.set(_def("ArchiveLocationID"), f"LF.{ds.name}")
        if fact.measures.rows == 0:
            group.set(_def("HasNoData"), "Yes")
        if ds.description:
            group.set(_def("CommentOID"), f"COM.{ds.name}")
            comments.append(_comment(f"COM.{ds.name}", ds.description))
        _description(group, ds.label)
        value_listed = _value_listed(fact)
        for order, variable in enumerate(ds.variables, start=1):
            ref = etree.SubElement(group, _odm("ItemRef"), ItemOID=item_oid(ds, variable.name),
                                   OrderNumber=str(order), Mandatory="Yes" if variable.mandatory else "No")
            if variable.name in ds.keys:
                ref.set("KeySequence", str(ds.keys.index(variable.name) + 1))
            if variable.origin == "Derived":
                ref.set("MethodOID", f"MT.{ds.name}.{variable.name}")
                methods.append(_method(f"MT.{ds.name}.{variable.name}", f"Algorithm to derive {ds.name}.{variable.name}",
                                       variable.description))
            column = columns.get(variable.name)
            item = _item_def(ds, variable, column, fact, item_oid(ds, variable.name), variable.name)
            if variable.origin != "Derived" and variable.description:
                item.set(_def("CommentOID"), f"COM.{ds.name}.{variable.name}")
                comments.append(_comment(f"COM.{ds.name}.{variable.name}", variable.description))
            use_codelist(variable.codelist)
            if variable.name in value_listed and column is not None:
                vl_oid = f"VL.{ds.name}.{variable.name}"
                etree.SubElement(item, _def("ValueListRef"), ValueListOID=vl_oid)
                vl, vitems, wcs = _value_list(ds, variable, column, fact, vl_oid)
                value_lists.append(vl)
                items.extend(vitems)
                where_clauses.extend(wcs)
            items.append(item)
        dataset_class = etree.SubElement(group, _def("Class"), Name=ds.dataset_class)
        if ds.subclass:
            etree.SubElement(dataset_class, _def("SubClass"), Name=ds.subclass)
        leaf = etree.SubElement(group, _def("leaf"), ID=f"LF.{ds.name}")
        leaf.set(f"{{{XLINK_NS}}}href", f"{ds.file_stem}.xpt")
        etree.SubElement(leaf, _def("title")).text = f"{ds.file_stem}.xpt"
        groups.append(group)

    etree.SubElement(standards, _def("Standard"), **ig)
    for ct in ct_standards(standard, facts, codelists):
        etree.SubElement(standards, _def("Standard"), **ct)
    used = [codelists[name] for name in used_codelists if name in codelists]
    for element in value_lists:
        mdv.append(element)
    seen_wc = set()
    for element in where_clauses:
        if element.get("OID") not in seen_wc:
            seen_wc.add(element.get("OID"))
            mdv.append(element)
    for element in groups + items:
        mdv.append(element)
    types = _codelist_data_types(facts)
    for codelist in used:
        mdv.append(_codelist(codelist, types.get(codelist.name, "text")))
    for element in methods + comments:
        mdv.append(element)
    return etree.ElementTree(root)


def ct_standards(standard: Standard, facts: list[DatasetFacts], codelists: dict[str, CodeList]) -> list[dict[str, str]]:
    """The CT standards of the NCI codelists the datasets' variables use, in the order of the
    standard's seeds."""
    used = [codelists[v.codelist] for fact in facts for v in fact.dataset.variables if v.codelist in codelists]
    seeds = {c.seed: c.standard for c in used if c.standard}
    return [seeds[seed] for seed in standard.seeds if seed in seeds]


def _codelist_data_types(facts: list[DatasetFacts]) -> dict[str, str]:
    """A codelist's DataType: that of the variables using it (integer, float), text when they differ."""
    found: dict[str, set[str]] = {}
    for fact in facts:
        columns = {c.name: c for c in fact.columns}
        for variable in fact.dataset.variables:
            if variable.codelist and variable.name in columns:
                kind = columns[variable.name].kind
                found.setdefault(variable.codelist, set()).add(kind if kind in ("integer", "float") else "text")
    return {name: kinds.pop() if len(kinds) == 1 else "text" for name, kinds in found.items()}


def _dataset_order(fact: DatasetFacts) -> tuple:
    """The subject-level dataset (DM, ADSL) first, then the other subject datasets, the reference
    (trial design) ones last, by name."""
    ds = fact.dataset
    return (ds.dataset_class == ds.standard.reference_class, ds.name != ds.standard.subject_level, ds.name)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("regenheart")
    except PackageNotFoundError:
        return "0"


def _description(parent, text: str):
    description = etree.SubElement(parent, _odm("Description"))
    translated = etree.SubElement(description, _odm("TranslatedText"))
    translated.set(f"{{{XML_NS}}}lang", "en")
    translated.text = text
    return description


def _comment(oid: str, text: str):
    comment = etree.Element(_def("CommentDef"), OID=oid)
    _description(comment, text)
    return comment


def _method(oid: str, name: str, text: str):
    method = etree.Element(_odm("MethodDef"), OID=oid, Name=name, Type="Computation")
    _description(method, text)
    return method


def _item_def(ds: Dataset, variable: Variable, column: Column | None, fact: DatasetFacts, oid: str, name: str,
              length: int | None = None, decimals: int | None = None, label: str | None = None):
    kind = data_type(column, fact.measures) if column is not None else "text"
    item = etree.Element(_odm("ItemDef"), OID=oid, Name=name, DataType=kind)
    if kind == "text":
        item.set("Length", str(max(1, length if length is not None else fact.text_width.get(variable.name, 1))))
    elif kind in ("integer", "float"):
        item.set("Length", str(max(1, length if length is not None else fact.measures.number_digits.get(variable.name, 1))))
        if kind == "float":
            item.set("SignificantDigits", str(decimals if decimals is not None else fact.measures.decimals.get(variable.name, 0)))
    item.set("SASFieldName", name)
    if column is not None and column.kind in TEMPORAL:
        item.set(_def("DisplayFormat"), TEMPORAL[column.kind].display_format)
    _description(item, label or variable.label)
    if variable.codelist:
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=f"CL.{variable.codelist}")
    _origin(item, variable)
    return item


def _origin(item, variable: Variable) -> None:
    origin = etree.SubElement(item, _def("Origin"), Type=variable.origin)
    if variable.origin == "Collected":
        origin.set("Source", "Investigator")
    elif variable.origin in ("Derived", "Assigned"):
        origin.set("Source", "Sponsor")
    if variable.source and variable.origin in ("Collected", "Predecessor"):
        _description(origin, variable.source)


def _value_listed(fact: DatasetFacts) -> set[str]:
    return {c.name for c in fact.result_columns} if fact.tests and fact.tests.codes else set()


def result_columns(dataset: Dataset, columns: list[Column]) -> list[Column]:
    """The columns of a dataset with a value-level key (--TESTCD, PARAMCD) that get value-level
    metadata by its codes (--ORRES, --ORRESU, --STRESC, --STRESN, --STRESU; AVAL, AVALC), in the
    table's order."""
    if not dataset.value_key:
        return []
    wanted = dataset.value_results
    return [c for c in columns if c.name in wanted]


def _value_list(ds: Dataset, variable: Variable, column: Column, fact: DatasetFacts, vl_oid: str):
    value_list = etree.Element(_def("ValueListDef"), OID=vl_oid)
    items, where_clauses = [], []
    test_code = ds.value_key
    for order, code in enumerate(fact.tests.codes, start=1):
        wc_oid = f"WC.{ds.name}.{test_code}.{code}"
        oid = f"{item_oid(ds, variable.name)}.{code}"
        ref = etree.SubElement(value_list, _odm("ItemRef"), ItemOID=oid, OrderNumber=str(order), Mandatory="No")
        if variable.origin == "Derived":
            ref.set("MethodOID", f"MT.{ds.name}.{variable.name}")
        etree.SubElement(ref, _def("WhereClauseRef"), WhereClauseOID=wc_oid)
        length = fact.tests.length.get((code, variable.name), 1)
        items.append(_item_def(ds, variable, column, fact, oid, variable.name, length=max(1, length),
                               decimals=fact.tests.decimals.get((code, variable.name), 0),
                               label=f"{variable.label} ({code})"[:200]))
        where = etree.Element(_def("WhereClauseDef"), OID=wc_oid)
        check = etree.SubElement(where, _odm("RangeCheck"), Comparator="EQ", SoftHard="Soft")
        check.set(_def("ItemOID"), item_oid(ds, test_code))
        etree.SubElement(check, _odm("CheckValue")).text = code
        where_clauses.append(where)
    return value_list, items, where_clauses


def _codelist(codelist: CodeList, data_type: str = "text"):
    element = etree.Element(_odm("CodeList"), OID=f"CL.{codelist.name}", Name=codelist.title, DataType=data_type)
    if codelist.standard:
        element.set(_def("StandardOID"), codelist.standard["OID"])
    decoded = codelist.decoded
    for term in codelist.terms:
        if decoded:
            entry = etree.SubElement(element, _odm("CodeListItem"), CodedValue=term.value)
        else:
            entry = etree.SubElement(element, _odm("EnumeratedItem"), CodedValue=term.value)
        if codelist.code and not term.code:
            entry.set(_def("ExtendedValue"), "Yes")
        if decoded:
            decode = etree.SubElement(entry, _odm("Decode"))
            translated = etree.SubElement(decode, _odm("TranslatedText"))
            translated.set(f"{{{XML_NS}}}lang", "en")
            translated.text = term.decode or term.value
        if term.code:
            etree.SubElement(entry, _odm("Alias"), Context="nci:ExtCodeID", Name=term.code)
    if codelist.code:
        etree.SubElement(element, _odm("Alias"), Context="nci:ExtCodeID", Name=codelist.code)
    return element
