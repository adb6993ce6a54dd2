"""What define.xml says about each dataset and variable of one standard: dbt's manifest, the
models of the standard's folder (models/sdtm/, models/adam/).

Each model's yml entry carries it (e.g. dbt_project/models/sdtm/_sdtm__models.yml): the dataset's
label, class, structure and keys in `config.meta`, its description; each column's description (its
rule), and in `config.meta` its label, origin, source and codelist. The manifest lists the columns
in the yml's order, which is the model's select order (a check compares them with the published
table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.dbt_manifest import read_manifest, yml_meta
from orchestration.submission.standards import SDTM, Standard

MAX_LABEL = 40
_XPT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    description: str
    origin: str
    source: str | None
    codelist: str | None
    mandatory: bool


@dataclass(frozen=True)
class Dataset:
    name: str  # upper case, e.g. DM, SUPPDM, ADSL: the XPT member, the ItemGroupDef's Name
    table: str  # the published table of the standard's schema, e.g. dm
    model: str  # e.g. sdtm_dm
    label: str
    description: str
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    standard: Standard = SDTM
    subclass: str | None = None

    @property
    def schema(self) -> str:
        return self.standard.schema

    @property
    def file_stem(self) -> str:
        return self.table.lower()

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def value_key(self) -> str | None:
        """The variable whose values select value-level metadata (--TESTCD, PARAMCD), when the
        dataset has it."""
        name = self.standard.value_key.replace("--", self.name)
        return name if self.variable(name) else None

    @property
    def value_results(self) -> set[str]:
        """The variables value-level metadata describe (--ORRES ..., AVAL, AVALC)."""
        return self.standard.variables(self.standard.value_results, self.name)

    @property
    def sequence(self) -> str:
        return self.standard.sequence.replace("--", self.name)


@dataclass
class Metadata:
    datasets: dict[str, Dataset]  # by table name
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (dataset, variable, what)


def load_metadata(manifest_path: Path, standard: Standard = SDTM) -> Metadata:
    """The datasets of every model under the standard's folder (dbt_project/models/sdtm/, ...): their
    metadata, and each problem with it (a missing label, an unknown origin...) for the checks to report."""
    manifest = read_manifest(manifest_path)
    metadata = Metadata({})
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or not node.get("original_file_path", "").startswith(standard.models):
            continue
        dataset = _dataset(node, standard, metadata.problems)
        metadata.datasets[dataset.table] = dataset
    return metadata


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _dataset(node: dict, standard: Standard, problems: list) -> Dataset:
    table = node.get("alias") or node["name"]
    name = table.upper()
    meta = yml_meta(node)

    def problem(variable: str, what: str) -> None:
        problems.append((name, variable, what))

    if node.get("schema") != standard.schema:
        problem("", f"model {node['name']} is not in schema {standard.schema}")
    if not _XPT_NAME.fullmatch(name):
        problem("", f"dataset name {name!r} is not an XPT v5 name (at most 8 letters, digits or _)")
    label = _text(meta.get("label"))
    if not label or len(label.encode()) > MAX_LABEL:
        problem("", f"dataset label {label!r} is missing or over {MAX_LABEL} bytes (config.meta.label of {node['name']})")
    dataset_class = _text(meta.get("class")).upper()
    if dataset_class not in standard.classes:
        problem("", f"class {dataset_class!r} is not one of {', '.join(standard.classes)}")
    if not _text(meta.get("structure")):
        problem("", "no structure (config.meta.structure)")
    required = standard.variables(standard.required, name)
    variables = [_variable(column, standard, required, problem) for column in node.get("columns", {}).values()]
    keys = tuple(meta.get("keys") or ())
    columns = {v.name for v in variables}
    for key in keys:
        if key not in columns:
            problem(key, "a key (config.meta.keys) that is no column of the model")
    if not keys:
        problem("", "no keys (config.meta.keys)")
    return Dataset(
        name=name, table=table, model=node["name"], label=label, description=_text(node.get("description")),
        dataset_class=dataset_class, structure=_text(meta.get("structure")), keys=keys, variables=tuple(variables),
        standard=standard, subclass=_text(meta.get("subclass")).upper() or _subclass(standard, dataset_class, variables),
    )


def _subclass(standard: Standard, dataset_class: str, variables: list[Variable]) -> str | None:
    domains = {v.source.split(".")[0] for v in variables if v.origin == "Predecessor" and v.source and "." in v.source}
    return next((sub for cls, domain, sub in standard.subclasses if cls == dataset_class and domain in domains), None)


def _variable(column: dict, standard: Standard, required: set[str], problem) -> Variable:
    name = column["name"]
    meta = yml_meta(column)
    if not _XPT_NAME.fullmatch(name):
        problem(name, "not an XPT v5 variable name (upper case, at most 8 letters, digits or _)")
    label = _text(meta.get("label"))
    if not label or len(label.encode()) > MAX_LABEL:
        problem(name, f"label {label!r} is missing or over {MAX_LABEL} bytes (config.meta.label)")
    origin = _text(meta.get("origin"))
    if origin not in standard.origins:
        problem(name, f"origin {origin!r} is not one of {', '.join(standard.origins)}")
    source = _text(meta.get("source")) or None
    if origin in ("Collected", "Predecessor") and not source:
        problem(name, f"a {origin} variable without its source (config.meta.source)")
    description = _text(column.get("description"))
    if not description:
        problem(name, "no description (its rule)")
    mandatory = meta.get("mandatory")
    if mandatory is None:
        mandatory = name in required
    codelist = _text(meta.get("codelist")) or None
    return Variable(name, label, description, origin, source, codelist, bool(mandatory))
