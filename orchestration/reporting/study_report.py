"""The study report: one self-contained HTML file built from the published warehouse."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from orchestration.dts import STUDY_ID
from orchestration.reporting.data_management import latest_transfers, open_data_issues, transfer_log
from orchestration.reporting.efficacy import change_from_baseline, nyha_shift, trajectories
from orchestration.reporting.markup import page, text
from orchestration.reporting.safety import adverse_events
from orchestration.reporting.subjects import baseline_characteristics, subject_flow
from orchestration.warehouse import connect

REPORT_NAME = "study_report.html"
SECTIONS = (subject_flow, baseline_characteristics, trajectories, change_from_baseline, nyha_shift,
            adverse_events, open_data_issues, transfer_log)


def write_study_report(published: Path, out_dir: Path) -> Path:
    """Build the report from the published DuckDB file (read-only) into `out_dir/study_report.html`."""
    generated = datetime.now(timezone.utc)
    con = connect(Path(published), read_only=True)
    try:
        sections = [build(con) for build in SECTIONS]
        transfers = latest_transfers(con)
    finally:
        con.close()
    header = (
        f"<h1>RegenHeart study report: {text(STUDY_ID)}</h1>"
        '<table class="meta"><tbody>'
        f"<tr><th>Study</th><td>{text(STUDY_ID)} (RegenHeart)</td></tr>"
        f"<tr><th>Generated</th><td>{generated:%Y-%m-%d %H:%M:%S} UTC</td></tr>"
        f"<tr><th>Source</th><td>{text(Path(published).name)} (published warehouse, schema marts)</td></tr>"
        f"<tr><th>Latest transfer per site</th><td>{transfers}</td></tr>"
        f"<tr><th>Submission package</th><td>{submission_package(Path(published))}</td></tr>"
        "</tbody></table>"
    )
    document = page(f"RegenHeart ({STUDY_ID}) study report", header, sections)
    return _write_atomically(Path(out_dir) / REPORT_NAME, document)


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


def _write_atomically(target: Path, content: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the report is for reading
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
