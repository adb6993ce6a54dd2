"""define.html: define.xml rendered for a person, one self-contained page (no scripts, no network):
the standards, the dataset index, each dataset's variables (type, length or display format,
origin and source, codelist, method or comment, value-level metadata), the value-level metadata
with their where clauses, the codelists with their NCI codes and CT standard, the methods and
comments with the variables that use them. Everything links: dataset index -> dataset, variable
-> codelist, method or comment, value-level metadata, and back. Read from the define.xml written,
so the page shows exactly what it says; the same page for every standard (SDTM, ADaM).

A variable whose origin is a predecessor (EX.EXSTDTC, ADSL.TRTSDT) links to that variable, on this
page when its dataset is here, else on `predecessors` (ADaM's: the package's sdtm/define.html)."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
DEF = "{%s}" % NS["def"]
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; font-size: 0.9em; }
th { background: #eef; }
h2 { border-bottom: 2px solid #447; margin-top: 2em; }
code { font-size: 0.95em; }
nav a { margin-right: 1em; }
tr:target { background: #ffd; }
"""
_PREDECESSOR = re.compile(r"([A-Z][A-Z0-9]{1,7})\.([A-Z][A-Z0-9_]{0,7})")


def _t(element) -> str:
    found = element.find("odm:Description/odm:TranslatedText", NS) if element is not None else None
    return found.text if found is not None and found.text else ""


def _e(value) -> str:
    return escape(str(value or ""))


def _link(oid: str | None, text: str | None = None) -> str:
    return f"<a href='#{_e(oid)}'>{_e(text or oid)}</a>" if oid else ""


def render_define_html(define: Path, predecessors: str | None = None) -> str:
    doc = etree.parse(str(define))
    mdv = doc.find(".//odm:MetaDataVersion", NS)
    study = doc.find(".//odm:Study", NS)
    items = {i.get("OID"): i for i in mdv.iterfind("odm:ItemDef", NS)}
    methods = {m.get("OID"): m for m in mdv.iterfind("odm:MethodDef", NS)}
    comments = {c.get("OID"): c for c in mdv.iterfind("def:CommentDef", NS)}
    wheres = {w.get("OID"): w for w in mdv.iterfind("def:WhereClauseDef", NS)}
    standards = {s.get("OID"): s for s in mdv.iterfind("def:Standards/def:Standard", NS)}
    groups = list(mdv.iterfind("odm:ItemGroupDef", NS))
    value_lists = list(mdv.iterfind("def:ValueListDef", NS))
    used_by = _users(groups, value_lists, items)
    page = _Page(items, methods, comments, wheres, used_by, predecessors, {g.get("Name") for g in groups})
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>define.xml: {_e(study.get('OID'))} {_e(mdv.get('Name'))}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(study.findtext('odm:GlobalVariables/odm:StudyName', namespaces=NS))} ({_e(study.get('OID'))}): "
        f"{_e(mdv.get('Name'))}</h1>",
        f"<p>{_e(mdv.get('Description'))}. Define-XML {_e(mdv.get(DEF + 'DefineVersion'))}; "
        f"created {_e(doc.getroot().get('CreationDateTime'))}.</p>",
        "<nav><a href='#standards'>Standards</a><a href='#datasets'>Datasets</a>"
        + ("<a href='#valuelevel'>Value-level metadata</a>" if value_lists else "")
        + "<a href='#codelists'>Codelists</a><a href='#methods'>Methods</a><a href='#comments'>Comments</a></nav>",
        "<h2 id='standards'>Standards</h2><table><tr><th>Standard</th><th>Type</th><th>Publishing set</th>"
        "<th>Version</th><th>Status</th></tr>",
    ]
    for s in standards.values():
        out.append(f"<tr id='{_e(s.get('OID'))}'><td>{_e(s.get('Name'))}</td><td>{_e(s.get('Type'))}</td>"
                   f"<td>{_e(s.get('PublishingSet'))}</td><td>{_e(s.get('Version'))}</td><td>{_e(s.get('Status'))}</td></tr>")
    out.append("</table><h2 id='datasets'>Datasets</h2><table><tr><th>Dataset</th><th>Description</th><th>Class</th>"
               "<th>Structure</th><th>Purpose</th><th>Keys</th><th>Standard</th><th>Location</th><th>Comment</th></tr>")
    for g in groups:
        keys = sorted((r for r in g.iterfind("odm:ItemRef", NS) if r.get("KeySequence")), key=lambda r: int(r.get("KeySequence")))
        leaf = g.find("def:leaf", NS)
        href = leaf.get(f"{{{NS['xlink']}}}href") if leaf is not None else ""
        klass = g.find("def:Class", NS)
        class_name = klass.get("Name") if klass is not None else ""
        subclasses = [s.get("Name") for s in klass.iterfind("def:SubClass", NS)] if klass is not None else []
        standard = standards.get(g.get(DEF + "StandardOID"))
        comment_oid = g.get(DEF + "CommentOID")
        out.append(
            f"<tr><td>{_link(g.get('OID'), g.get('Name'))}</td><td>{_e(_t(g))}</td>"
            f"<td>{_e(class_name)}{''.join(f' / {_e(s)}' for s in subclasses)}</td><td>{_e(g.get(DEF + 'Structure'))}</td>"
            f"<td>{_e(g.get('Purpose'))}</td>"
            f"<td>{', '.join(_link(r.get('ItemOID'), items[r.get('ItemOID')].get('Name')) for r in keys)}</td>"
            f"<td>{_e(standard.get('Name') + ' ' + standard.get('Version') if standard is not None else '')}</td>"
            f"<td><a href='{_e(href)}'>{_e(href)}</a></td>"
            f"<td>{_e(_t(comments.get(comment_oid)))}</td></tr>")
    out.append("</table>")
    for g in groups:
        out.append(f"<h2 id='{_e(g.get('OID'))}'>{_e(g.get('Name'))}: {_e(_t(g))}</h2>")
        out.append(page.variables(g.iterfind("odm:ItemRef", NS)))
    if value_lists:
        out.append("<h2 id='valuelevel'>Value-level metadata</h2>")
        for vl in value_lists:
            described = next((i for i in items.values() if (r := i.find("def:ValueListRef", NS)) is not None
                              and r.get("ValueListOID") == vl.get("OID")), None)
            out.append(f"<h3 id='{_e(vl.get('OID'))}'>{_e(vl.get('OID'))}"
                       f"{': ' + _link(described.get('OID'), described.get('Name')) if described is not None else ''}</h3>")
            out.append(page.variables(vl.iterfind("odm:ItemRef", NS), where=True))
    out.append("<h2 id='codelists'>Codelists</h2>")
    for cl in mdv.iterfind("odm:CodeList", NS):
        code = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
        standard = standards.get(cl.get(DEF + "StandardOID"))
        source = (f"{standard.get('Name')} {standard.get('PublishingSet')} CT {standard.get('Version')}"
                  if standard is not None else "sponsor")
        out.append(f"<h3 id='{_e(cl.get('OID'))}'>{_e(cl.get('OID'))}: {_e(cl.get('Name'))}"
                   f"{' (NCI ' + _e(code.get('Name')) + ')' if code is not None else ''}</h3>")
        out.append(f"<p>{_e(source)}; {_e(cl.get('DataType'))}; used by {_users_links(used_by.get(cl.get('OID')), items)}</p>")
        out.append("<table><tr><th>Value</th><th>Decode</th><th>NCI code</th></tr>")
        for entry in cl:
            if not entry.tag.endswith("Item"):
                continue
            alias = entry.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            decode = entry.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) or ""
            extended = " (sponsor extension)" if entry.get(DEF + "ExtendedValue") == "Yes" else ""
            out.append(f"<tr><td>{_e(entry.get('CodedValue'))}</td><td>{_e(decode)}{extended}</td>"
                       f"<td>{_e(alias.get('Name') if alias is not None else '')}</td></tr>")
        out.append("</table>")
    out.append("<h2 id='methods'>Methods</h2><table><tr><th>Method</th><th>Type</th><th>Description</th><th>Used by</th></tr>")
    for m in methods.values():
        out.append(f"<tr id='{_e(m.get('OID'))}'><td>{_e(m.get('Name'))}</td><td>{_e(m.get('Type'))}</td><td>{_e(_t(m))}</td>"
                   f"<td>{_users_links(used_by.get(m.get('OID')), items)}</td></tr>")
    out.append("</table><h2 id='comments'>Comments</h2><table><tr><th>Comment</th><th>Description</th><th>Used by</th></tr>")
    for c in comments.values():
        out.append(f"<tr id='{_e(c.get('OID'))}'><td>{_e(c.get('OID'))}</td><td>{_e(_t(c))}</td>"
                   f"<td>{_users_links(used_by.get(c.get('OID')), items, groups)}</td></tr>")
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _users(groups, value_lists, items) -> dict[str, list[str]]:
    """Method, comment or codelist OID -> the OIDs of the variables (or datasets) that use it."""
    users: dict[str, list[str]] = {}

    def use(oid: str | None, user: str) -> None:
        if oid and user not in users.setdefault(oid, []):
            users[oid].append(user)

    for g in groups:
        use(g.get(DEF + "CommentOID"), g.get("OID"))
    for ref in [r for g in groups for r in g.iterfind("odm:ItemRef", NS)] + [
            r for vl in value_lists for r in vl.iterfind("odm:ItemRef", NS)]:
        item = items.get(ref.get("ItemOID"))
        use(ref.get("MethodOID"), ref.get("ItemOID"))
        if item is not None:
            use(item.get(DEF + "CommentOID"), ref.get("ItemOID"))
            codelist = item.find("odm:CodeListRef", NS)
            use(codelist.get("CodeListOID") if codelist is not None else None, ref.get("ItemOID"))
    return users


def _users_links(oids: list[str] | None, items, groups=()) -> str:
    names = {g.get("OID"): g.get("Name") for g in groups}
    return ", ".join(_link(oid, _qualified_name(oid, items, names)) for oid in oids or [])


def _qualified_name(oid: str, items, group_names) -> str:
    if oid in group_names:
        return group_names[oid]
    return oid.removeprefix("IT.")  # IT.ADSL.AGE -> ADSL.AGE, value level IT.ADEFF.AVAL.LVEF -> ADEFF.AVAL.LVEF


class _Page:
    def __init__(self, items, methods, comments, wheres, used_by, predecessors: str | None, datasets: set[str]):
        self.items, self.methods, self.comments, self.wheres = items, methods, comments, wheres
        self.used_by, self.predecessors, self.datasets = used_by, predecessors, datasets

    def variables(self, refs, where: bool = False) -> str:
        rows = ["<table><tr><th>#</th>" + ("<th>Where</th>" if where else "") + "<th>Variable</th><th>Label</th>"
                "<th>Type</th><th>Length / format</th><th>Mandatory</th><th>Key</th><th>Origin</th><th>Codelist</th>"
                "<th>Method / comment</th></tr>"]
        for ref in refs:
            item = self.items.get(ref.get("ItemOID"))
            if item is not None:
                rows.append(self._row(ref, item, where))
        rows.append("</table>")
        return "\n".join(rows)

    def _row(self, ref, item, where: bool) -> str:
        codelist = item.find("odm:CodeListRef", NS)
        vl = item.find("def:ValueListRef", NS)
        method_oid = ref.get("MethodOID")
        comment_oid = item.get(DEF + "CommentOID")
        if method_oid in self.methods:
            explain = f"{_e(_t(self.methods[method_oid]))} ({_link(method_oid, 'method')})"
        elif comment_oid in self.comments:
            explain = f"{_e(_t(self.comments[comment_oid]))} ({_link(comment_oid, 'comment')})"
        else:
            explain = ""
        if vl is not None:
            explain += f" {_link(vl.get('ValueListOID'), 'value-level metadata')}"
        length = item.get("Length") or ""
        if item.get("SignificantDigits"):
            length += f" ({item.get('SignificantDigits')} decimals)"
        if item.get(DEF + "DisplayFormat"):
            length += f" {item.get(DEF + 'DisplayFormat')}"
        condition = f"<td>{_e(self._where(ref))}</td>" if where else ""
        return (
            f"<tr id='{_e(item.get('OID'))}'><td>{_e(ref.get('OrderNumber'))}</td>{condition}<td>{_e(item.get('Name'))}</td>"
            f"<td>{_e(_t(item))}</td><td>{_e(item.get('DataType'))}</td><td>{_e(length)}</td><td>{_e(ref.get('Mandatory'))}</td>"
            f"<td>{_e(ref.get('KeySequence'))}</td><td>{self._origin(item)}</td>"
            f"<td>{_link(codelist.get('CodeListOID')) if codelist is not None else ''}</td><td>{explain}</td></tr>")

    def _origin(self, item) -> str:
        origin = item.find("def:Origin", NS)
        if origin is None:
            return ""
        text = _e(origin.get("Type")) + (f" ({_e(origin.get('Source'))})" if origin.get("Source") else "")
        source = _t(origin)
        if not source:
            return text
        match = _PREDECESSOR.fullmatch(source)
        if origin.get("Type") != "Predecessor" or not match:
            return f"{text}: {_e(source)}"
        page = "" if match[1] in self.datasets else self.predecessors
        if page is None:
            return f"{text}: {_e(source)}"
        return f"{text}: <a href='{_e(page)}#IT.{_e(source)}'>{_e(source)}</a>"

    def _where(self, ref) -> str:
        clauses = []
        for wref in ref.iterfind("def:WhereClauseRef", NS):
            for check in self.wheres[wref.get("WhereClauseOID")].iterfind("odm:RangeCheck", NS):
                target = self.items.get(check.get(DEF + "ItemOID"))
                values = ", ".join(v.text or "" for v in check.iterfind("odm:CheckValue", NS))
                clauses.append(f"{target.get('Name') if target is not None else '?'} {check.get('Comparator')} {values}")
        return " and ".join(clauses)


def write_define_html(define: Path, target: Path, predecessors: str | None = None) -> Path:
    target.write_text(render_define_html(define, predecessors), encoding="utf-8")
    return target
