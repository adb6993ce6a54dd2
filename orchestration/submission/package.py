"""write_submission: the SDTM submission package of the published warehouse, checked, then put in
place of the previous one as a whole.

    <warehouse dir>/submission/
        sdtm/<dataset>.xpt, sdtm/<dataset>.json (one per table of schema sdtm), define.xml, define.html
        conformance.json

Everything is written into a new folder beside `submission/`; the blocking checks (checks.py) run
on the files written there; only when they find nothing does the new folder replace the old one
(folder_swap.py). On a failure the new folder is removed and the previous package stays as it was.
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
from orchestration.submission.dataset_json import (
    DATASET_JSON_VERSION, DatasetJsonRows, JsonColumn, header_fields, json_data_type,
)
from orchestration.submission.define_html import write_define_html
from orchestration.submission.define_xml import (
    CT_STANDARD, DEFINE_VERSION, IG_STANDARD, METADATA_VERSION_OID, ORIGINATOR, DatasetFacts, _version,
    build_define, item_group_oid, item_oid, result_columns,
)
from orchestration.submission.folder_swap import replace_folder, staging_folder
from orchestration.submission.metadata import Dataset, Metadata, load_metadata
from orchestration.submission.published import (
    SDTM_SCHEMA, Column, Measures, TestCodeMeasures, measure, measure_test_codes, open_published, order_key, published_tables,
    sorted_parts, stored_parts, table_columns,
)
from orchestration.submission.terminology import load_terminology

SUBMISSION_FOLDER = "submission"
DATASET_WRITERS = 2
CONFORMANCE = "conformance.json"
STANDARDS = {
    "SDTMIG": IG_STANDARD["Version"], "SDTM": "2.0", "controlled_terminology": f"SDTM CT {CT_STANDARD['Version']}",
    "Define-XML": DEFINE_VERSION, "Dataset-JSON": DATASET_JSON_VERSION, "XPT": "SAS transport version 5",
}


class SubmissionFailed(Exception):
    """A blocking check found something: nothing replaced the previous package."""

    def __init__(self, findings: list[C.Finding]):
        self.findings = findings
        super().__init__(f"{len(findings)} blocking finding(s); the previous package is unchanged")


@dataclass
class Submission:
    folder: Path  # <warehouse dir>/submission
    datasets: dict[str, int]  # dataset -> records
    conformance: dict = field(default_factory=dict)
    seconds: float = 0.0


def submission_folder(published: Path) -> Path:
    return Path(published).parent / SUBMISSION_FOLDER


def write_submission(published: Path, manifest_path: Path, say: Callable[[str], None] = print) -> Submission:
    started = time.monotonic()
    published = Path(published)
    target = submission_folder(published)
    con, build = open_published(published)
    try:
        metadata = load_metadata(manifest_path)
        terminology = load_terminology()
        checks = C.Checks()
        datasets = _datasets_to_write(con, metadata, terminology, checks)
        new = staging_folder(target)
        try:
            sdtm = new / "sdtm"
            sdtm.mkdir()
            created = datetime.now(timezone.utc)
            facts, records, adjustments, empty, json_files = [], {}, [], [], {}
            rows = {dataset.name: _rows(con, dataset) for dataset in datasets}
            for dataset in datasets:
                if not rows[dataset.name]:
                    say(f"submission: {dataset.name}: no records: not submitted (an empty dataset is left out)")
                    empty.append(dataset.name)
            written = _write_datasets(con, [d for d in datasets if rows[d.name]], rows, sdtm, build, created, checks, say)
            for dataset in datasets:  # in name order, whichever was written first
                fact, count, adjusted, json_file = written.get(dataset.name, (None, 0, [], None))
                if fact is not None:
                    facts.append(fact)
                    records[dataset.name] = count
                    adjustments.extend(adjusted)
                    json_files[dataset.name] = json_file
            define_path = sdtm / "define.xml"
            build_define(facts, terminology, created).write(
                str(define_path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
            say("submission: define.xml written; checking the package")
            _check_package(sdtm, facts, terminology, records, checks, json_files)
            write_define_html(define_path, sdtm / "define.html")
            conformance = _conformance(build, facts, records, checks, adjustments, created, empty)
            if checks.findings:
                raise SubmissionFailed(checks.findings)
            (new / CONFORMANCE).write_text(json.dumps(conformance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            replace_folder(new, target)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    finally:
        con.close()
    _update_study_report(published, say)
    return Submission(target, records, conformance, time.monotonic() - started)



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


def _datasets_to_write(con, metadata: Metadata, terminology, checks: C.Checks) -> list[Dataset]:
    """The datasets that are both a published table of schema sdtm and a model of models/sdtm, in
    name order; a table without a model, a model without a table, a model whose columns are not the
    table's (names and order), a codelist the terminology lacks, and every problem of the metadata
    are findings."""
    tables = published_tables(con, SDTM_SCHEMA)
    for dataset, variable, what in metadata.problems:
        checks.check(C.METADATA, False, dataset, variable, what)
    for table in tables:
        checks.check(C.METADATA, table in metadata.datasets, table.upper(), "",
                     f"published table sdtm.{table} has no model in dbt_project/models/sdtm (no metadata for define.xml)")
    written = []
    for table, dataset in sorted(metadata.datasets.items()):
        if not checks.check(C.METADATA, table in tables, dataset.name, "",
                            f"model {dataset.model} has no published table sdtm.{table} (refresh first)"):
            continue
        columns = [c.name for c in table_columns(con, table)]
        names = [v.name for v in dataset.variables]
        checks.check(C.METADATA, columns == names, dataset.name, "",
                     f"the yml columns {names} are not the published table's {columns} (names and order)")
        for variable in dataset.variables:
            if variable.codelist:
                checks.check(C.METADATA, variable.codelist in terminology, dataset.name, variable.name,
                             f"codelist {variable.codelist} is not in seeds/sdtm_terminology.csv")
        written.append(dataset)
    return written


def _rows(con, dataset: Dataset) -> int:
    return con.execute(f"SELECT count(*) FROM {qualified(SDTM_SCHEMA, dataset.table)}").fetchone()[0]


def _write_datasets(con, datasets: list[Dataset], rows: dict[str, int], sdtm: Path, build, created: datetime,
                    checks: C.Checks, say) -> dict[str, tuple]:
    """Each dataset's files, DATASET_WRITERS at a time, the largest first, then what define.xml
    says of each dataset's values: much of a dataset's time is DuckDB making its rows' text on one
    thread and the disk taking them, so a second dataset keeps the other core busy, and the
    measuring is done by whichever writer is free, not on the largest dataset's way. Each task
    reads through a cursor of its own."""
    def on_cursor(task, dataset: Dataset):
        with con.cursor() as cursor:
            return task(cursor, dataset)

    def write(cursor, dataset: Dataset):
        return _write_dataset(cursor, dataset, sdtm, build, created, checks, say)

    largest_first = sorted(datasets, key=lambda d: -rows[d.name])
    with ThreadPoolExecutor(max_workers=DATASET_WRITERS) as pool:
        writing = [pool.submit(on_cursor, write, dataset) for dataset in largest_first]
        measuring = [pool.submit(on_cursor, _measure, dataset) for dataset in largest_first]
        written = {dataset.name: task.result() for dataset, task in zip(largest_first, writing)}
        for task in measuring:
            fact = written[task.result().dataset.name][0]
            if fact is not None:
                _add_measures(fact, task.result())
    return written


@dataclass
class _Measured:
    dataset: Dataset
    measures: Measures
    result_columns: list[Column]
    tests: TestCodeMeasures | None = None


def _measure(con, dataset: Dataset) -> _Measured:
    columns = table_columns(con, dataset.table)
    codelisted = [v.name for v in dataset.variables if v.codelist]
    found = _Measured(dataset, measure(con, dataset.table, columns, codelisted), result_columns(dataset, columns))
    if dataset.test_code and found.result_columns:
        found.tests = measure_test_codes(con, qualified(SDTM_SCHEMA, dataset.table), dataset.test_code, found.result_columns)
    return found


def _add_measures(fact: DatasetFacts, measured: _Measured) -> None:
    fact.measures = measured.measures
    if measured.tests is not None:
        fact.tests, fact.result_columns = measured.tests, measured.result_columns


def _sort_order(dataset: Dataset, columns: list[str]) -> list[str]:
    """The dataset's keys, then --SEQ (unique within a subject: the order is then total); a
    dataset without --SEQ then sorts by every column, so that its order is always the same."""
    seq = f"{dataset.name}SEQ"
    order = [k for k in dataset.keys if k in columns]
    if seq in columns:
        return order + ([seq] if seq not in order else [])
    return order + [c for c in columns if c not in order]


def _write_dataset(con, dataset: Dataset, sdtm: Path, build, created: datetime, checks: C.Checks, say):
    started = time.monotonic()
    columns = table_columns(con, dataset.table)
    labels = {v.name: XptVariable(v.name, v.label) for v in dataset.variables}
    plan = plan_dataset(con, dataset.table, schema=SDTM_SCHEMA, label=dataset.label)
    try:
        check_xpt_plan(plan, labels)
    except XptLimitError as exc:
        checks.check(C.METADATA, False, dataset.name, "", str(exc))
        return None, 0, [], None
    text_width = {c.name: c.width for c in plan.columns if c.width}
    fact = DatasetFacts(dataset, columns, None, text_width)  # measures: _measure, once every file is written
    json_columns = [
        JsonColumn(item_oid(dataset, c.name), c.name, dataset.variable(c.name).label, json_data_type(c),
                   text_width.get(c.name) if c.kind == "text" else None,
                   dataset.keys.index(c.name) + 1 if c.name in dataset.keys else None)
        for c in columns
    ]
    header = header_fields(
        name=dataset.name, label=dataset.label, item_group_oid=item_group_oid(dataset), records=plan.rows,
        created=created.strftime("%Y-%m-%dT%H:%M:%S"), db_modified=build.modified.rstrip("Z"),
        metadata_version_oid=METADATA_VERSION_OID, source_version=_version(), originator=ORIGINATOR,
    )
    order = _sort_order(dataset, [c.name for c in columns])
    files = (sdtm / f"{dataset.file_stem}.xpt", sdtm / f"{dataset.file_stem}.json")
    json_layout = (columns, header, json_columns, frozenset(c.name for c in plan.columns if c.truncated))

    def write(parts: list[str], in_order: OrderCheck | None):
        return _write_files(con, files, plan, labels, json_layout, parts, in_order)

    xpt, rows = _in_order(con, dataset, order, write, say)
    checks.check(C.AGREEMENT, xpt.rows == rows.rows == plan.rows, dataset.name, "",
                 f"rows: {plan.rows} in the data, {xpt.rows} in the XPT file, {rows.rows} in the JSON file")
    adjustments = [a.record() for a in xpt.written.adjustments]
    # the Dataset-JSON file's own checks, here on the writer's thread rather than after the last file
    json_file = C.check_dataset_json(checks, dataset.name, files[1], rows.bytes, plan.rows)
    say(f"submission: {dataset.name}: {plan.rows} records -> {dataset.file_stem}.xpt, {dataset.file_stem}.json "
        f"({time.monotonic() - started:.1f} s)")
    return fact, plan.rows, adjustments, json_file


def _in_order(con, dataset: Dataset, order: list[str], write: Callable, say):
    """write(parts, order check): the rows read as stored where they can be (published.stored_parts),
    their order checked; sorted where they cannot, or when the check finds them out of order."""
    stored = stored_parts(con, dataset.table, order)
    if stored is not None:
        try:
            return write(stored, OrderCheck(order))
        except RowsOutOfOrder as exc:
            say(f"submission: {dataset.name}: {exc}: writing them sorted instead")
    return write(sorted_parts(con, dataset.table, order), None)


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
            raise RowsOutOfOrder("the rows as stored are not in the order of its keys and --SEQ")
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


def _check_package(sdtm: Path, facts: list[DatasetFacts], terminology, records: dict[str, int], checks: C.Checks,
                   json_files: dict[str, C.JsonFile | None]):
    """define.xml against its schema, and define.xml, the files and the data agreeing both ways
    (each Dataset-JSON file was checked against its schema as it was written: json_files)."""
    doc = C.check_define_schema(checks, sdtm / "define.xml")
    if doc is None:
        return
    defined, item_defs, code_lists = C.define_datasets(doc)
    files = {p.stem.upper() for p in sdtm.glob("*.xpt")} | {p.stem.upper() for p in sdtm.glob("*.json")}
    for name in sorted(set(defined) | files):
        checks.check(C.AGREEMENT, name in defined, name, "", "a data file with no ItemGroupDef in define.xml")
        checks.check(C.AGREEMENT, (sdtm / f"{name.lower()}.xpt").is_file(), name, "", f"no {name.lower()}.xpt")
        checks.check(C.AGREEMENT, (sdtm / f"{name.lower()}.json").is_file(), name, "", f"no {name.lower()}.json")
    for fact in facts:
        ds = fact.dataset
        d = defined.get(ds.name)
        if d is None:
            continue
        json_file = json_files.get(ds.name)
        xpt_path = sdtm / f"{ds.file_stem}.xpt"
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
    checks.check(C.AGREEMENT, xpt_var is not None and xpt_var.numeric == numeric == (column.kind != "text"), ds.name, name,
                 f"type: define.xml {dtype}, XPT {'numeric' if xpt_var and xpt_var.numeric else 'text'}, data {column.duckdb_type}")
    if json_col is not None:
        checks.check(C.AGREEMENT, (json_col["dataType"] in ("integer", "double")) == numeric, ds.name, name,
                     f"type: define.xml {dtype}, JSON {json_col['dataType']}")
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


def _conformance(build, facts, records, checks: C.Checks, adjustments, created: datetime, empty: list[str]) -> dict:
    return {
        "written_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_build": build.record(),
        "standards": STANDARDS,
        "sdtm": {
            "folder": "sdtm",
            "datasets": [
                {"dataset": f.dataset.name, "records": records[f.dataset.name],
                 "files": [f"{f.dataset.file_stem}.xpt", f"{f.dataset.file_stem}.json"]}
                for f in sorted(facts, key=lambda f: f.dataset.name)
            ],
            "files": ["define.xml", "define.html"],
            # published tables with no records: an empty dataset is not submitted
            "not_submitted": [{"dataset": name, "reason": "no records"} for name in empty],
            "checks": [{"check": name, "checked": count} for name, count in sorted(checks.counts.items())],
            "failures": [f.record() for f in checks.findings],
            # values XPT v5 cannot hold, written by its rule (text cut to 200 bytes, a number set missing)
            "xpt_adjustments": adjustments,
        },
        "failures": [f.record() for f in checks.findings],
    }
