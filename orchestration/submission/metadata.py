"""What define.xml says about each SDTM dataset and variable: dbt's manifest, models/sdtm/.

Each model's yml entry carries it (dbt_project/models/sdtm/_sdtm__models.yml): the dataset's label,
class, structure and keys in `config.meta`, its description; each column's description (its rule),
and in `config.meta` its label, origin, source and codelist. The manifest lists the columns in the
yml's order, which is the model's select order (a check compares them with the published table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")
CLASSES = ("SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT", "TRIAL DESIGN", "RELATIONSHIP")
MAX_LABEL = 40
# Identifiers and topic variables that SDTMIG makes Required: Mandatory="Yes" in define.xml (a
# column's meta `mandatory: true|false` overrides). "--" is the dataset's domain prefix.
REQUIRED = ("STUDYID", "DOMAIN", "RDOMAIN", "USUBJID", "--SEQ", "--TESTCD", "--TEST", "QNAM", "QLABEL", "QVAL",
            "TSPARMCD", "TSPARM", "ARMCD", "ARM", "ETCD", "ELEMENT", "VISITNUM", "IETESTCD", "IETEST")


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
    name: str  # upper case, e.g. DM, SUPPDM: the XPT member, the ItemGroupDef's Name
    table: str  # the published table of schema sdtm, e.g. dm
    model: str  # e.g. sdtm_dm
    label: str
    description: str
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def file_stem(self) -> str:
        return self.table.lower()

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def test_code(self) -> str | None:
        """The dataset's --TESTCD column, when it has one (value-level metadata hang on it)."""
        name = f"{self.name}TESTCD"
        return name if self.variable(name) else None


@dataclass
class Metadata:
    datasets: dict[str, Dataset]  # by table name
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (dataset, variable, what)


def load_metadata(manifest_path: Path, folder: str = "models/sdtm/", schema: str = "sdtm") -> Metadata:
    """The datasets of every model under `folder` (dbt_project/models/sdtm/): their metadata, and
    each problem with it (a missing label, an unknown origin...) for the checks to report."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    metadata = Metadata({})
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or not node.get("original_file_path", "").startswith(folder):
            continue
        dataset = _dataset(node, schema, metadata.problems)
        metadata.datasets[dataset.table] = dataset
    return metadata


def _meta(props: dict) -> dict:
    return {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _dataset(node: dict, schema: str, problems: list) -> Dataset:
    table = node.get("alias") or node["name"]
    name = table.upper()
    meta = _meta(node)

    def problem(variable: str, what: str) -> None:
        problems.append((name, variable, what))

    if node.get("schema") != schema:
        problem("", f"model {node['name']} is not in schema {schema}")
    label = _text(meta.get("label"))
    if not label or len(label.encode()) > MAX_LABEL:
        problem("", f"dataset label {label!r} is missing or over {MAX_LABEL} bytes (config.meta.label of {node['name']})")
    dataset_class = _text(meta.get("class")).upper()
    if dataset_class not in CLASSES:
        problem("", f"class {dataset_class!r} is not one of {', '.join(CLASSES)}")
    if not _text(meta.get("structure")):
        problem("", "no structure (config.meta.structure)")
    variables = []
    for column in node.get("columns", {}).values():
        variables.append(_variable(name, column, problem))
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
    )


def _variable(dataset: str, column: dict, problem) -> Variable:
    name = column["name"]
    meta = _meta(column)
    label = _text(meta.get("label"))
    if not label or len(label.encode()) > MAX_LABEL:
        problem(name, f"label {label!r} is missing or over {MAX_LABEL} bytes (config.meta.label)")
    origin = _text(meta.get("origin"))
    if origin not in ORIGINS:
        problem(name, f"origin {origin!r} is not one of {', '.join(ORIGINS)}")
    source = _text(meta.get("source")) or None
    if origin in ("Collected", "Predecessor") and not source:
        problem(name, f"a {origin} variable without its source (config.meta.source)")
    description = _text(column.get("description"))
    if not description:
        problem(name, "no description (its rule)")
    mandatory = meta.get("mandatory")
    if mandatory is None:
        mandatory = name in {r.replace("--", dataset) for r in REQUIRED}
    codelist = _text(meta.get("codelist")) or None
    return Variable(name, label, description, origin, source, codelist, bool(mandatory))
