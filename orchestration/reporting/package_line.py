"""The study report's line on the submission package: built with the report, and written again
into it by `regenheart submission` (imports nothing of the report's charts)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestration.reporting.markup import text
from orchestration.reporting.writing import write_atomically

PACKAGE_CELL_ID = "submission-package"
_PACKAGE_CELL = re.compile(rf'(<td id="{PACKAGE_CELL_ID}">)(.*?)(</td>)', re.S)


def submission_package(published: Path) -> str:
    """The SDTM submission package beside the published file and its checks' result
    (conformance.json), as HTML text; says so when none has been written."""
    folder = published.parent / "submission"
    conformance = folder / "conformance.json"
    if not conformance.is_file():
        return f"{text(str(folder))}: not written yet (<code>regenheart submission</code> writes it)"
    try:
        found = json.loads(conformance.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{text(str(folder))}: conformance.json unreadable ({text(str(exc))})"
    sdtm = found.get("sdtm", {})
    failures = found.get("failures", [])
    result = "every check passed" if not failures else f"{len(failures)} check failure(s)"
    standards = found.get("standards", {})
    return text(
        f"{folder}: SDTMIG {standards.get('SDTMIG', '?')}, {standards.get('controlled_terminology', '?')}; "
        f"{len(sdtm.get('datasets', []))} datasets ({', '.join(d['dataset'] for d in sdtm.get('datasets', []))}); "
        f"{result} (conformance.json, written {found.get('written_at', '?')} from the file published "
        f"{found.get('published_build', {}).get('modified', '?')})"
    )


def update_submission_package(report: Path, published: Path) -> bool:
    """Write the package's line of an existing report again (after `regenheart submission`), the
    rest as the refresh wrote it from the same published file: seconds less than building it all.
    False when the report has no such line (written by an older version): build it then."""
    try:
        document = report.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    line = submission_package(Path(published))
    updated, found = _PACKAGE_CELL.subn(lambda m: f"{m[1]}{line}{m[3]}", document, count=1)
    if not found:
        return False
    write_atomically(report, updated)
    return True
