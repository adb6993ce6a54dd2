"""write_submission: the submission package of the published warehouse, SDTM and ADaM, checked,
then put in place of the previous one as a whole.

    <warehouse dir>/submission/
        sdtm/<dataset>.xpt, sdtm/<dataset>.json (one per table of schema sdtm), define.xml, define.html
        adam/<dataset>.xpt, adam/<dataset>.json (one per table of schema adam), define.xml, define.html
        conformance.json

Each standard (standards.py) is one folder, written by the same code: its datasets from the models
of its dbt folder and the tables of its schema, its define.xml from their metadata and its
terminology seeds. Everything is written into a new folder beside `submission/`; the blocking
checks (checks.py, agreement.py) run on the files written there; only when they find nothing in
either folder does the new folder replace the old one (folder_swap.py). On a failure the new
folder is removed and the previous package stays as it was.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow.compute as pc

from orchestration.exports.labels import XptVariable
from orchestration.exports.xpt import ROWS_PER_CHUNK, XptLimitError, XptRecords, check_xpt_plan, plan_dataset
from orchestration.sql import qualified
from orchestration.submission import checks as C
from orchestration.submission.agreement import check_folder
from orchestration.submission.dataset_json import DATASET_JSON_VERSION, DatasetJsonRows, header_fields, json_column
from orchestration.submission.define_html import write_define_html
from orchestration.submission.define_xml import (
    DEFINE_VERSION, ORIGINATOR, DatasetFacts, _version, build_define, ct_standards, item_group_oid, item_oid,
    result_columns,
)
from orchestration.submission.folder_swap import replace_folder, staging_folder
from orchestration.submission.metadata import Dataset, load_metadata
from orchestration.submission.published import (
    Column, Measures, TestCodeMeasures, measure, measure_test_codes, open_published, order_key, published_tables,
    sorted_parts, stored_parts, table_columns,
)
from orchestration.submission.standards import ADAM_CT, SDTM_CT, STANDARDS, Standard
from orchestration.submission.terminology import Terminology, load_seeds

SUBMISSION_FOLDER = "submission"
DATASET_WRITERS = 2
CONFORMANCE = "conformance.json"


def standards_record() -> dict:
    """conformance.json's standards: each standard's implementation guide and model, the CT packages."""
    record = {}
    for standard in STANDARDS:
        record[standard.ig["Name"]] = standard.ig["Version"]
        record[standard.model_version[0]] = standard.model_version[1]
    record["controlled_terminology"] = [f"{ct['PublishingSet']} CT {ct['Version']}" for ct in (SDTM_CT, ADAM_CT)]
    return {**record, "Define-XML": DEFINE_VERSION, "Dataset-JSON": DATASET_JSON_VERSION, "XPT": "SAS transport version 5"}


class SubmissionFailed(Exception):
    """A blocking check found something: nothing replaced the previous package."""

    def __init__(self, findings: list[C.Finding]):
        self.findings = findings
        super().__init__(f"{len(findings)} blocking finding(s); the previous package is unchanged")


@dataclass
class Submission:
    folder: Path  # <warehouse dir>/submission
    datasets: dict[str, dict[str, int]]  # standard (sdtm, adam) -> dataset -> records
    conformance: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Part:
    """One standard's folder of the package, as it is written and checked."""
    standard: Standard
    folder: Path
    terminology: Terminology
    checks: C.Checks
    datasets: list[Dataset]  # a model and a published table both
    rows: dict[str, int]  # dataset -> records in the table
    written: dict[str, tuple] = field(default_factory=dict)  # dataset -> _write_dataset's result
    facts: list[DatasetFacts] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    adjustments: list[dict] = field(default_factory=list)
    json_files: dict[str, C.JsonFile | None] = field(default_factory=dict)

    @property
    def empty(self) -> list[str]:
        return [d.name for d in self.datasets if not self.rows[d.name]]


def submission_folder(published: Path) -> Path:
    return Path(published).parent / SUBMISSION_FOLDER


def write_submission(published: Path, manifest_path: Path, say: Callable[[str], None] = print) -> Submission:
    started = time.monotonic()
    published = Path(published)
    target = submission_folder(published)
    con, build = open_published(published)
    try:
        new = staging_folder(target)
        try:
            created = datetime.now(timezone.utc)
            parts = [_prepare(con, standard, manifest_path, new, say) for standard in STANDARDS]
            _write_datasets(con, parts, build, created, say)
            for part in parts:
                _define_and_check(part, created, say)
            conformance = _conformance(build, parts, created)
            findings = [f for part in parts for f in part.checks.findings]
            if findings:
                raise SubmissionFailed(findings)
            (new / CONFORMANCE).write_text(json.dumps(conformance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            replace_folder(new, target)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    finally:
        con.close()
    _update_study_report(published, say)
    datasets = {part.standard.key: part.records for part in parts}
    return Submission(target, datasets, conformance, time.monotonic() - started)


def _prepare(con, standard: Standard, manifest_path: Path, package: Path, say) -> _Part:
    """The standard's folder in the new package and the datasets to write into it."""
    folder = package / standard.key
    folder.mkdir()
    terminology = load_seeds(standard.seeds, standard.seed_codelists)
    checks = C.Checks(standard.key)
    for problem in terminology.problems:
        checks.check(C.METADATA, False, "", "", problem)
    datasets = _datasets_to_write(con, standard, load_metadata(manifest_path, standard), terminology, checks)
    rows = {d.name: _rows(con, d) for d in datasets}
    for dataset in datasets:
        if not rows[dataset.name]:
            say(f"submission: {dataset.name}: no records: not submitted (an empty dataset is left out)")
    return _Part(standard, folder, terminology, checks, datasets, rows)


def _define_and_check(part: _Part, created: datetime, say) -> None:
    """The folder's define.xml from what the writers found, its checks, then define.html."""
    for dataset in part.datasets:  # in name order, whichever was written first
        fact, count, adjusted, json_file = part.written.get(dataset.name, (None, 0, [], None))
        if fact is not None:
            part.facts.append(fact)
            part.records[dataset.name] = count
            part.adjustments.extend(adjusted)
            part.json_files[dataset.name] = json_file
    define_path = part.folder / "define.xml"
    build_define(part.standard, part.facts, part.terminology, created).write(
        str(define_path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    say(f"submission: {part.standard.key}/define.xml written; checking the {part.standard.key} folder")
    check_folder(part.folder, part.facts, part.terminology, part.records, part.checks, part.json_files)
    write_define_html(define_path, part.folder / "define.html", part.standard.predecessors_page)


def _update_study_report(published: Path, say) -> None:
    """The study report names the package and its conformance result: its package line is written
    again when the report exists, so that it shows this package, not the previous one."""
    from orchestration.build_state import OUTPUT_FILES

    report = published.parent / OUTPUT_FILES["study_report"]
    if not report.is_file():
        return
    try:
        from orchestration.reporting.package_line import update_submission_package

        if not update_submission_package(report, published):
            from orchestration.reporting.study_report import write_study_report  # a second of imports

            write_study_report(published, report.parent)
    except Exception as exc:  # the package is in place: a report that cannot be written is a warning
        say(f"submission: WARNING: the package is written, but the study report could not be updated: {exc}")
        return
    say(f"submission: {report} now names this package")


def _datasets_to_write(con, standard: Standard, metadata, terminology, checks: C.Checks) -> list[Dataset]:
    """The datasets that are both a published table of the standard's schema and a model of its
    dbt folder, in name order; a table without a model, a model without a table, a model whose
    columns are not the table's (names and order), a codelist the terminology lacks, every
    problem of the metadata, and a standard with no dataset at all are findings."""
    schema, models = standard.schema, f"dbt_project/{standard.models}"
    tables = published_tables(con, schema)
    for dataset, variable, what in metadata.problems:
        checks.check(C.METADATA, False, dataset, variable, what)
    checks.check(C.METADATA, bool(tables or metadata.datasets), "", "",
                 f"no model in {models} and no published table of schema {schema}: the {schema} folder would be empty")
    for table in tables:
        checks.check(C.METADATA, table in metadata.datasets, table.upper(), "",
                     f"published table {schema}.{table} has no model in {models} (no metadata for define.xml)")
    written = []
    for table, dataset in sorted(metadata.datasets.items()):
        if not checks.check(C.METADATA, table in tables, dataset.name, "",
                            f"model {dataset.model} has no published table {schema}.{table} (refresh first)"):
            continue
        columns = [c.name for c in table_columns(con, table, schema)]
        names = [v.name for v in dataset.variables]
        checks.check(C.METADATA, columns == names, dataset.name, "",
                     f"the yml columns {names} are not the published table's {columns} (names and order)")
        for variable in dataset.variables:
            if variable.codelist:
                checks.check(C.METADATA, variable.codelist in terminology, dataset.name, variable.name,
                             f"codelist {variable.codelist} is in none of seeds/{', seeds/'.join(standard.terminology_seeds)}")
        written.append(dataset)
    return written


def _rows(con, dataset: Dataset) -> int:
    return con.execute(f"SELECT count(*) FROM {qualified(dataset.schema, dataset.table)}").fetchone()[0]


def _write_datasets(con, parts: list[_Part], build, created: datetime, say) -> None:
    """Each dataset's files (every standard's datasets with records), DATASET_WRITERS at a time, the
    largest first, then what define.xml says of each dataset's values: much of a dataset's time is
    DuckDB making its rows' text on one thread and the disk taking them, so a second dataset keeps
    the other core busy, and the measuring is done by whichever writer is free, not on the largest
    dataset's way. Each task reads through a cursor of its own."""
    def on_cursor(task, part: _Part, dataset: Dataset):
        with con.cursor() as cursor:
            return task(cursor, part, dataset)

    def write(cursor, part: _Part, dataset: Dataset):
        return _write_dataset(cursor, dataset, part.folder, build, created, part.checks, say)

    def measure_dataset(cursor, part: _Part, dataset: Dataset):
        return _measure(cursor, dataset)

    jobs = [(part, dataset) for part in parts for dataset in part.datasets if part.rows[dataset.name]]
    largest_first = sorted(jobs, key=lambda job: -job[0].rows[job[1].name])
    with ThreadPoolExecutor(max_workers=DATASET_WRITERS) as pool:
        writing = [pool.submit(on_cursor, write, *job) for job in largest_first]
        measuring = [pool.submit(on_cursor, measure_dataset, *job) for job in largest_first]
        for (part, dataset), task in zip(largest_first, writing):
            part.written[dataset.name] = task.result()
        for (part, dataset), task in zip(largest_first, measuring):
            fact = part.written[dataset.name][0]
            if fact is not None:
                _add_measures(fact, task.result())


@dataclass
class _Measured:
    dataset: Dataset
    measures: Measures
    result_columns: list[Column]
    tests: TestCodeMeasures | None = None


def _measure(con, dataset: Dataset) -> _Measured:
    columns = table_columns(con, dataset.table, dataset.schema)
    codelisted = [v.name for v in dataset.variables if v.codelist]
    found = _Measured(dataset, measure(con, dataset.table, columns, codelisted, dataset.schema),
                      result_columns(dataset, columns))
    if dataset.value_key and found.result_columns:
        found.tests = measure_test_codes(con, qualified(dataset.schema, dataset.table), dataset.value_key,
                                         found.result_columns)
    return found


def _add_measures(fact: DatasetFacts, measured: _Measured) -> None:
    fact.measures = measured.measures
    if measured.tests is not None:
        fact.tests, fact.result_columns = measured.tests, measured.result_columns


def _sort_order(dataset: Dataset, columns: list[str]) -> list[str]:
    """The dataset's keys, then its sequence variable (--SEQ, ASEQ: unique within a subject, the
    order is then total); a dataset without one then sorts by every column, so that its order is
    always the same."""
    seq = dataset.sequence
    order = [k for k in dataset.keys if k in columns]
    if seq in columns:
        return order + ([seq] if seq not in order else [])
    return order + [c for c in columns if c not in order]


def _write_dataset(con, dataset: Dataset, folder: Path, build, created: datetime, checks: C.Checks, say):
    started = time.monotonic()
    schema = dataset.schema
    columns = table_columns(con, dataset.table, schema)
    labels = {v.name: XptVariable(v.name, v.label) for v in dataset.variables}
    try:
        plan = plan_dataset(con, dataset.table, schema=schema, label=dataset.label)
        check_xpt_plan(plan, labels)
    except XptLimitError as exc:
        checks.check(C.METADATA, False, dataset.name, "", str(exc))
        return None, 0, [], None
    text_width = {c.name: c.width for c in plan.columns if c.width}
    fact = DatasetFacts(dataset, columns, None, text_width)  # measures: _measure, once every file is written
    json_columns = [
        json_column(c, item_oid(dataset, c.name), dataset.variable(c.name).label, text_width.get(c.name),
                    dataset.keys.index(c.name) + 1 if c.name in dataset.keys else None)
        for c in columns
    ]
    header = header_fields(
        name=dataset.name, label=dataset.label, item_group_oid=item_group_oid(dataset), records=plan.rows,
        created=created.strftime("%Y-%m-%dT%H:%M:%S"), db_modified=build.modified.rstrip("Z"),
        metadata_version_oid=dataset.standard.metadata_version_oid, source_version=_version(), originator=ORIGINATOR,
        standard=dataset.standard.key.upper(),
    )
    order = _sort_order(dataset, [c.name for c in columns])
    files = (folder / f"{dataset.file_stem}.xpt", folder / f"{dataset.file_stem}.json")
    json_layout = (columns, header, json_columns, frozenset(c.name for c in plan.columns if c.truncated))

    def write(parts: list[str], in_order: OrderCheck | None):
        return _write_files(con, files, plan, labels, json_layout, parts, in_order)

    xpt, rows = _in_order(con, dataset, order, write, say)
    checks.check(C.AGREEMENT, xpt.rows == rows.rows == plan.rows, dataset.name, "",
                 f"rows: {plan.rows} in the data, {xpt.rows} in the XPT file, {rows.rows} in the JSON file")
    adjustments = [a.record() for a in xpt.written.adjustments]
    # the Dataset-JSON file's own checks, here on the writer's thread rather than after the last file
    json_file = C.check_dataset_json(checks, dataset.name, files[1], rows.bytes, plan.rows)
    say(f"submission: {dataset.name}: {plan.rows} records -> {folder.name}/{dataset.file_stem}.xpt, "
        f"{dataset.file_stem}.json ({time.monotonic() - started:.1f} s)")
    return fact, plan.rows, adjustments, json_file


def _in_order(con, dataset: Dataset, order: list[str], write: Callable, say):
    """write(parts, order check): the rows read as stored where they can be (published.stored_parts),
    their order checked; sorted where they cannot, or when the check finds them out of order."""
    schema = dataset.schema
    stored = stored_parts(con, dataset.table, order, schema)
    if stored is not None:
        try:
            return write(stored, OrderCheck(order))
        except RowsOutOfOrder as exc:
            say(f"submission: {dataset.name}: {exc}: writing them sorted instead")
    return write(sorted_parts(con, dataset.table, order, schema), None)


class RowsOutOfOrder(Exception):
    """Rows read as stored (published.stored_parts) are not in the dataset's order."""


class OrderCheck:
    """Checks that the rows of consecutive batches (their `select` column) come in `order`."""

    COLUMN = "record_order"

    def __init__(self, order: list[str]):
        self.select = f"{order_key(order)} AS {self.COLUMN}"
        self._last: bytes | None = None

    def check(self, batch) -> None:
        keys = batch.column(self.COLUMN)
        if not len(keys):
            return
        if (self._last is not None and keys[0].as_py() < self._last) or (
                len(keys) > 1 and pc.any(pc.less(keys.slice(1), keys.slice(0, len(keys) - 1))).as_py()):
            raise RowsOutOfOrder("the rows as stored are not in the order of its keys and sequence")
        self._last = keys[-1].as_py()


def _write_files(con, files: tuple[Path, Path], plan, labels, json_layout: tuple, parts: list[str],
                 in_order: OrderCheck | None) -> tuple[XptRecords, DatasetJsonRows]:
    """The dataset's XPT and Dataset-JSON files from one read of each part, in turn; `in_order`
    checks the order of rows read as stored (the files are then written again, sorted)."""
    with (XptRecords(files[0], plan, labels) as xpt, DatasetJsonRows(files[1], *json_layout) as rows,
          con.cursor() as reader):
        select = ", ".join([xpt.select, rows.select, *([in_order.select] if in_order else [])])
        for source in parts:
            for batch in reader.sql(f"SELECT {select} FROM {source}").to_arrow_reader(ROWS_PER_CHUNK):
                if in_order:
                    in_order.check(batch)
                xpt.write(batch)
                rows.write(batch)
    return xpt, rows


def _conformance(build, parts: list[_Part], created: datetime) -> dict:
    findings = [f.record() for part in parts for f in part.checks.findings]
    return {
        "written_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_build": build.record(),
        "standards": standards_record(),
        **{part.standard.key: _section(part) for part in parts},
        "failures": findings,
    }


def _section(part: _Part) -> dict:
    """One standard's folder in conformance.json."""
    ig = part.standard.ig
    return {
        "folder": part.standard.key,
        "standard": f"{ig['Name']} {ig['Version']}",
        "controlled_terminology": [f"{ct['PublishingSet']} CT {ct['Version']}"
                                   for ct in ct_standards(part.standard, part.facts, part.terminology)],
        "datasets": [
            {"dataset": f.dataset.name, "records": part.records[f.dataset.name],
             "files": [f"{f.dataset.file_stem}.xpt", f"{f.dataset.file_stem}.json"]}
            for f in sorted(part.facts, key=lambda f: f.dataset.name)
        ],
        "files": ["define.xml", "define.html"],
        # published tables with no records: an empty dataset is not submitted
        "not_submitted": [{"dataset": name, "reason": "no records"} for name in part.empty],
        "checks": [{"check": name, "checked": count} for name, count in sorted(part.checks.counts.items())],
        "failures": [f.record() for f in part.checks.findings],
        # values XPT v5 cannot hold, written by its rule (text cut to 200 bytes, a number set missing)
        "xpt_adjustments": part.adjustments,
    }
