"""HTML building blocks of the study report: escaped tables, sections, the page and its CSS."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from typing import Iterable, Sequence

MISSING = "–"


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    summary: str  # what it shows and which table it comes from
    body: str  # HTML, already escaped
    rows: int  # data rows shown in the section's tables


def text(value: object) -> str:
    """A value as escaped HTML text (None as an en dash)."""
    return MISSING if value is None else escape(str(value))


def number(value: float | int | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return MISSING
    return f"{number(low, digits)} to {number(high, digits)}"


def count_percent(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f} %)" if total else str(count)


def none_line(what: str) -> str:
    return f'<p class="none">None: {escape(what)}</p>'


def table(
    table_id: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    empty: str,
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """A table of escaped cells; `numeric` column indexes are right-aligned; a "none" line when empty."""
    rows = list(rows)
    if not rows:
        return none_line(empty)
    head = "".join(f'<th{_align(i, numeric)}>{escape(c)}</th>' for i, c in enumerate(columns))
    body = []
    for index, row in enumerate(rows):
        css = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(f"<td{_align(i, numeric)}>{text(v)}</td>" for i, v in enumerate(row))
        body.append(f"<tr{css}>{cells}</tr>")
    return f'<table id="{escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _align(index: int, numeric: Sequence[int]) -> str:
    return ' class="num"' if index in numeric else ""


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def render_section(section: Section) -> str:
    return (
        f'<section id="{escape(section.anchor)}" data-rows="{section.rows}">'
        f"<h2>{escape(section.title)}</h2><p class=\"summary\">{escape(section.summary)}</p>"
        f"{section.body}</section>"
    )


def page(title: str, header: str, sections: Sequence[Section]) -> str:
    contents = "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><header>{header}</header><nav><h2>Contents</h2><ol>{contents}</ol></nav><main>"
        + "\n".join(render_section(s) for s in sections)
        + "</main></body></html>\n"
    )


_SECTION = re.compile(r'<section id="([^"]+)" data-rows="(\d+)">')


def report_outline(html_text: str) -> dict[str, int]:
    """Section anchor -> data rows, read back from a written report."""
    return {anchor: int(rows) for anchor, rows in _SECTION.findall(html_text)}


_PLOT = re.compile(r'<svg role="img" aria-label="([^"]+)"')


def report_plots(html_text: str) -> list[str]:
    """The names of the inline plots of a written report, in page order."""
    return _PLOT.findall(html_text)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1a1a1a;
 max-width:1100px;margin:0 auto;padding:1rem 1.5rem;line-height:1.4;font-size:15px}
header{border-bottom:2px solid #333;margin-bottom:1rem}
h1{font-size:1.6rem;margin:.2rem 0}
h2{font-size:1.25rem;margin:1.8rem 0 .3rem;border-bottom:1px solid #ccc;break-after:avoid}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem;break-after:avoid}
p.summary{color:#444;margin:.2rem 0 .6rem}
p.none{font-style:italic;color:#555}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.level-any td,tr.level-soc td{font-weight:600}
tr.level-pt td:first-child{padding-left:1.5rem}
figure{margin:.5rem 0 1rem;break-inside:avoid}
figure svg{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#444}
.meta td,.meta th{border:none;padding:.05rem .6rem .05rem 0}
ul.package{margin:.1rem 0;padding-left:1.2rem}
nav ol{columns:2;font-size:.9rem}
@media print{nav{display:none}body{max-width:none;font-size:11pt}section{break-before:auto}
 table{break-inside:auto}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""
