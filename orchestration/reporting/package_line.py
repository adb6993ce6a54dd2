"""The study report's line on the submission package: built with the report, and written again
into it by `regenheart submission` (imports nothing of the report's charts).

It says what conformance.json says of the package: its checks' result, and per folder (SDTM,
ADaM) the standard and CT, the datasets and their records, the checks made and the failures, with
a link to the folder's define.html."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from orchestration.reporting.markup import text
from orchestration.reporting.writing import write_atomically

PACKAGE_CELL_ID = "submission-package"
_PACKAGE_CELL = re.compile(rf'(<td id="{PACKAGE_CELL_ID}">)(.*?)(</td>)', re.S)
# conformance.json's sections, in the order shown, with the name a reader knows them by
FOLDERS = (("sdtm", "SDTM"), ("adam", "ADaM"))


def submission_package(published: Path, report_dir: Path | None = None) -> str:
    """The submission package beside the published file and its checks' result (conformance.json),
    as HTML (no table cells: the line is one cell); says so when none has been written.
    `report_dir`: where the report is, for the links to each folder's define.html."""
    folder = published.parent / "submission"
    report_dir = report_dir or published.parent / "reports"
    conformance = folder / "conformance.json"
    if not conformance.is_file():
        return f"{text(str(folder))}: not written yet (<code>regenheart submission</code> writes it)"
    try:
        found = json.loads(conformance.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{text(str(folder))}: conformance.json unreadable ({text(str(exc))})"
    failures = found.get("failures", [])
    result = "every check passed" if not failures else f"{len(failures)} check failure(s)"
    head = text(
        f"{folder}: {result} (conformance.json, written {found.get('written_at', '?')} from the file published "
        f"{found.get('published_build', {}).get('modified', '?')})"
    )
    parts = [_folder_line(folder, report_dir, key, name, found[key]) for key, name in FOLDERS if key in found]
    return head + '<ul class="package">' + "".join(parts) + "</ul>"


def _folder_line(package: Path, report_dir: Path, key: str, name: str, section: dict) -> str:
    define = package / key / "define.html"
    href = Path(os.path.relpath(define, report_dir)).as_posix()
    datasets = section.get("datasets", [])
    records = sum(d.get("records", 0) for d in datasets)
    checks = sum(c.get("checked", 0) for c in section.get("checks", []))
    standards = ", ".join([section.get("standard", name), *section.get("controlled_terminology", [])])
    summary = (
        f": {standards}; {len(datasets)} datasets, {records:,} records "
        f"({', '.join(d['dataset'] for d in datasets)}); {checks:,} checks made, {len(section.get('failures', []))} failures"
    )
    return (f'<li id="{PACKAGE_CELL_ID}-{key}">{text(name)} (<a href="{text(href)}">{text(key)}/define.html</a>)'
            f"{text(summary)}</li>")


def update_submission_package(report: Path, published: Path) -> bool:
    """Write the package's line of an existing report again (after `regenheart submission`), the
    rest as the refresh wrote it from the same published file: seconds less than building it all.
    False when the report has no such line (written by an older version): build it then."""
    try:
        document = report.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    line = submission_package(Path(published), report.parent)
    updated, found = _PACKAGE_CELL.subn(lambda m: f"{m[1]}{line}{m[3]}", document, count=1)
    if not found:
        return False
    write_atomically(report, updated)
    return True
