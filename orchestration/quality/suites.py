"""The Great Expectations suites of the warehouse, as JSON files under expectations/<layer>/.

Each file is a GX 1.x ExpectationSuite as GX serialises it. Its `meta` says what it validates:

- `table`: the warehouse table the suite reports on (`raw.echo`, `history.echo`, `staging.stg_edc__echo`,
  `marts.adsl`);
- `batch_query`: the DuckDB SQL whose result is the validated DataFrame (a string, or a list of lines
  joined with newlines). Relational invariants are derived columns of that query. Raw queries read
  the transfers to validate from the `$new_sites` / `$new_extracts` list parameters (zipped), and
  the reference data from the dbt seed files (`read_csv($seed_code_lists, ...)`): raw is validated
  before dbt loads the seeds into the reference schema;
- `id_columns`: the columns that identify a row in a failure report (SITEID, SOURCE_LINE, USUBJID...);
- `partition_by` (optional): a SQL expression over the batch query's columns giving the site (or,
  in raw, the transfer) a row belongs to. Every expectation of such a suite holds for the whole
  table iff it holds for each partition, so the runner validates the table a few partitions at a
  time (memory stays bounded) and, after one site's new transfer, only that site's partition.
  Outside raw, such a query reads its own table's rows of the sites to validate through the
  `$sites` list parameter: `from (select * from marts.adsl where $sites::varchar[] is null or
  coalesce(SITEID, '') in (select unnest($sites::varchar[]))) as marts_rows` (the sites, with ''
  for rows of no site; NULL when every row is validated).

Every expectation carries `severity` (`critical` blocks the layer, `warning` only reports) and a
readable `meta.description`; `meta.show_columns` names extra columns a failing row should show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.quality.contract_types import type_expectations
from orchestration.settings import REPO_ROOT

LAYERS = ("raw", "history", "staging", "marts")
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("critical", "warning", "info")
SITES_PARAMETER = "sites"  # $sites: the sites a partitioned suite (outside raw) validates


@dataclass(frozen=True)
class SuiteDefinition:
    """One suite file: where it is, what it validates, and its JSON document."""

    layer: str
    name: str
    table: str
    path: Path
    batch_query: str
    id_columns: tuple[str, ...]
    description: str
    document: dict[str, Any] = field(repr=False)
    partition_by: str | None = None

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.document["expectations"]


def layer_dir(layer: str, expectations_dir: Path | None = None) -> Path:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: expected one of {', '.join(LAYERS)}")
    return (expectations_dir or EXPECTATIONS_DIR) / layer


def suite_paths(layer: str, expectations_dir: Path | None = None) -> list[Path]:
    return sorted(layer_dir(layer, expectations_dir).glob("*.json"))


def load_suite(path: Path, layer: str) -> SuiteDefinition:
    document = json.loads(path.read_text(encoding="utf-8"))
    meta = document.get("meta") or {}
    # the column types come from the models' contract (dbt's manifest), not from the file
    document["expectations"] = [*type_expectations(meta.get("table") or ""), *(document.get("expectations") or [])]
    name = document.get("name")
    query = meta.get("batch_query")
    if isinstance(query, list):
        query = "\n".join(query)
    problems = []
    if not name:
        problems.append("no name")
    if not meta.get("table"):
        problems.append("no meta.table")
    if not query:
        problems.append("no meta.batch_query")
    elif meta.get("partition_by") and layer != "raw" and f"${SITES_PARAMETER}" not in query:
        problems.append(f"partition_by, but the batch query does not scope its table to ${SITES_PARAMETER}")
    for index, expectation in enumerate(document.get("expectations") or []):
        if expectation.get("severity") not in SEVERITIES:
            problems.append(f"expectation {index} ({expectation.get('type')}) has no severity")
        if not (expectation.get("meta") or {}).get("description"):
            problems.append(f"expectation {index} ({expectation.get('type')}) has no meta.description")
    if not document.get("expectations"):
        problems.append("no expectations")
    if problems:
        raise ValueError(f"{path}: {'; '.join(problems)}")
    return SuiteDefinition(
        layer=layer,
        name=name,
        table=meta["table"],
        path=path,
        batch_query=query,
        id_columns=tuple(meta.get("id_columns") or ()),
        description=meta.get("description", ""),
        document=document,
        partition_by=meta.get("partition_by"),
    )


def load_layer_suites(layer: str, expectations_dir: Path | None = None) -> list[SuiteDefinition]:
    """Every suite of a layer, in file-name order."""
    return [load_suite(path, layer) for path in suite_paths(layer, expectations_dir)]


def to_gx_suite(definition: SuiteDefinition, index_key: str | None = None, only=None):
    """The GX ExpectationSuite of a definition (GX checks every expectation's kwargs here).

    With `index_key`, each expectation's meta also holds its position in the file under that key;
    `only` (positions) keeps just those expectations.
    """
    import great_expectations as gx

    document = definition.document
    expectations = []
    for index, expectation in enumerate(document["expectations"]):
        if only is not None and index not in only:
            continue
        expectation = dict(expectation)
        if index_key:
            expectation["meta"] = {**(expectation.get("meta") or {}), index_key: index}
        expectations.append(expectation)
    return gx.ExpectationSuite(
        name=definition.name,
        expectations=expectations,
        meta=dict(document.get("meta") or {}),
        notes=document.get("notes"),
    )
