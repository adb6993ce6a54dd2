"""define.html: define.xml rendered for a person, one self-contained page (no scripts, no network):
the dataset index, each dataset's variables (type, length, origin and source, codelist, method or
comment, value-level metadata), the value-level metadata, the codelists with their NCI codes, the
methods and comments. Read from the define.xml written, so the page shows exactly what it says."""

from __future__ import annotations

from html import escape
from pathlib import Path

from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; font-size: 0.9em; }
th { background: #eef; }
h2 { border-bottom: 2px solid #447; margin-top: 2em; }
code { font-size: 0.95em; }
"""


def _t(element) -> str:
    found = element.find("odm:Description/odm:TranslatedText", NS) if element is not None else None
    return found.text if found is not None and found.text else ""


def _e(value) -> str:
    return escape(str(value or ""))


def render_define_html(define: Path) -> str:
    doc = etree.parse(str(define))
    mdv = doc.find(".//odm:MetaDataVersion", NS)
    study = doc.find(".//odm:Study", NS)
    items = {i.get("OID"): i for i in mdv.iterfind("odm:ItemDef", NS)}
    methods = {m.get("OID"): m for m in mdv.iterfind("odm:MethodDef", NS)}
    comments = {c.get("OID"): c for c in mdv.iterfind("def:CommentDef", NS)}
    wheres = {w.get("OID"): w for w in mdv.iterfind("def:WhereClauseDef", NS)}
    groups = list(mdv.iterfind("odm:ItemGroupDef", NS))
    standards = ", ".join(f"{s.get('Name')} {s.get('Version')}" for s in mdv.iterfind("def:Standards/def:Standard", NS))
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>define.xml: {_e(study.get('OID'))}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(study.findtext('odm:GlobalVariables/odm:StudyName', namespaces=NS))} ({_e(study.get('OID'))}): "
        f"{_e(mdv.get('Name'))}</h1>",
        f"<p>Define-XML {_e(mdv.get('{%s}DefineVersion' % NS['def']))}; standards: {_e(standards)}; "
        f"created {_e(doc.getroot().get('CreationDateTime'))}.</p>",
        "<h2 id='datasets'>Datasets</h2><table><tr><th>Dataset</th><th>Description</th><th>Class</th>"
        "<th>Structure</th><th>Keys</th><th>Location</th><th>Comment</th></tr>",
    ]
    for g in groups:
        keys = sorted((r for r in g.iterfind("odm:ItemRef", NS) if r.get("KeySequence")), key=lambda r: int(r.get("KeySequence")))
        leaf = g.find("def:leaf", NS)
        href = leaf.get(f"{{{NS['xlink']}}}href") if leaf is not None else ""
        klass = g.find("def:Class", NS)
        out.append(
            f"<tr><td><a href='#{_e(g.get('OID'))}'>{_e(g.get('Name'))}</a></td><td>{_e(_t(g))}</td>"
            f"<td>{_e(klass.get('Name') if klass is not None else '')}</td><td>{_e(g.get('{%s}Structure' % NS['def']))}</td>"
            f"<td>{_e(', '.join(items[r.get('ItemOID')].get('Name') for r in keys))}</td>"
            f"<td><a href='{_e(href)}'>{_e(href)}</a></td>"
            f"<td>{_e(_t(comments.get(g.get('{%s}CommentOID' % NS['def']))))}</td></tr>")
    out.append("</table>")
    for g in groups:
        out.append(f"<h2 id='{_e(g.get('OID'))}'>{_e(g.get('Name'))}: {_e(_t(g))}</h2>")
        out.append(_variables_table(g.iterfind("odm:ItemRef", NS), items, methods, comments, wheres))
    value_lists = list(mdv.iterfind("def:ValueListDef", NS))
    if value_lists:
        out.append("<h2 id='valuelevel'>Value-level metadata</h2>")
        for vl in value_lists:
            out.append(f"<h3 id='{_e(vl.get('OID'))}'>{_e(vl.get('OID'))}</h3>")
            out.append(_variables_table(vl.iterfind("odm:ItemRef", NS), items, methods, comments, wheres, where=True))
    out.append("<h2 id='codelists'>Codelists</h2>")
    for cl in mdv.iterfind("odm:CodeList", NS):
        code = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
        out.append(f"<h3 id='{_e(cl.get('OID'))}'>{_e(cl.get('OID'))}: {_e(cl.get('Name'))}"
                   f"{' (NCI ' + _e(code.get('Name')) + ')' if code is not None else ''}</h3>")
        out.append("<table><tr><th>Value</th><th>Decode</th><th>NCI code</th></tr>")
        for entry in cl:
            if not entry.tag.endswith("Item"):
                continue
            alias = entry.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            decode = entry.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) or ""
            extended = " (sponsor extension)" if entry.get("{%s}ExtendedValue" % NS["def"]) == "Yes" else ""
            out.append(f"<tr><td>{_e(entry.get('CodedValue'))}</td><td>{_e(decode)}{extended}</td>"
                       f"<td>{_e(alias.get('Name') if alias is not None else '')}</td></tr>")
        out.append("</table>")
    out.append("<h2 id='methods'>Methods</h2><table><tr><th>Method</th><th>Type</th><th>Description</th></tr>")
    for m in methods.values():
        out.append(f"<tr id='{_e(m.get('OID'))}'><td>{_e(m.get('Name'))}</td><td>{_e(m.get('Type'))}</td><td>{_e(_t(m))}</td></tr>")
    out.append("</table><h2 id='comments'>Comments</h2><table><tr><th>Comment</th><th>Description</th></tr>")
    for c in comments.values():
        out.append(f"<tr id='{_e(c.get('OID'))}'><td>{_e(c.get('OID'))}</td><td>{_e(_t(c))}</td></tr>")
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _variables_table(refs, items, methods, comments, wheres, where: bool = False) -> str:
    rows = ["<table><tr><th>#</th>" + ("<th>Where</th>" if where else "") + "<th>Variable</th><th>Label</th>"
            "<th>Type</th><th>Length</th><th>Mandatory</th><th>Key</th><th>Origin</th><th>Codelist</th>"
            "<th>Method / comment</th></tr>"]
    for ref in refs:
        item = items.get(ref.get("ItemOID"))
        if item is None:
            continue
        origin = item.find("def:Origin", NS)
        origin_text = ""
        if origin is not None:
            origin_text = origin.get("Type") + (f" ({origin.get('Source')})" if origin.get("Source") else "")
            if _t(origin):
                origin_text += f": {_t(origin)}"
        codelist = item.find("odm:CodeListRef", NS)
        vl = item.find("def:ValueListRef", NS)
        method = methods.get(ref.get("MethodOID"))
        comment = comments.get(item.get("{%s}CommentOID" % NS["def"]))
        explain = _e(_t(method) if method is not None else _t(comment))
        if vl is not None:
            explain += f" <a href='#{_e(vl.get('ValueListOID'))}'>value-level metadata</a>"
        length = item.get("Length") or ""
        if item.get("SignificantDigits"):
            length += f" ({item.get('SignificantDigits')} decimals)"
        link = ""
        if codelist is not None:
            oid = _e(codelist.get("CodeListOID"))
            link = f"<a href='#{oid}'>{oid}</a>"
        condition = ""
        if where:
            clauses = []
            for wref in ref.iterfind("def:WhereClauseRef", NS):
                for check in wheres[wref.get("WhereClauseOID")].iterfind("odm:RangeCheck", NS):
                    target = items.get(check.get("{%s}ItemOID" % NS["def"]))
                    values = ", ".join(v.text or "" for v in check.iterfind("odm:CheckValue", NS))
                    clauses.append(f"{target.get('Name') if target is not None else '?'} {check.get('Comparator')} {values}")
            condition = f"<td>{_e(' and '.join(clauses))}</td>"
        rows.append(
            f"<tr><td>{_e(ref.get('OrderNumber'))}</td>{condition}<td>{_e(item.get('Name'))}</td><td>{_e(_t(item))}</td>"
            f"<td>{_e(item.get('DataType'))}</td><td>{_e(length)}</td><td>{_e(ref.get('Mandatory'))}</td>"
            f"<td>{_e(ref.get('KeySequence'))}</td><td>{_e(origin_text)}</td>"
            f"<td>{link}</td>"
            f"<td>{explain}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def write_define_html(define: Path, target: Path) -> Path:
    target.write_text(render_define_html(define), encoding="utf-8")
    return target
