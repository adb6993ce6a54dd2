"""What the concerns of the code location share, so that each `defs/<concern>/` stands alone.

A concern's modules import only from their own folder, from this module and the other modules at
the top of `defs/` (resources.py, progress_logger.py), and from orchestration's modules outside
`defs/`; never from another concern (tests/test_definitions.py checks it). What one concern needs
of another is here:

- the asset keys of the layers (raw, history, dbt's staging, marts, sdtm, adam), so that a step
  depends on another's assets by key (`deps=`), not by importing the asset;
- the dbt project, whose manifest names the dbt models (their keys are read from it here, by the
  rule the dbt assets' translator uses: `dbt_asset_key`);
- the names of the GX gates' checks, which publishing verifies ran and passed;
- the run's scope (`changed_sites_of_run`): which sites this run rebuilds and validates, as
  ingestion recorded it at the start of the run.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import dagster as dg
from pydantic import Field

from orchestration import dts
from orchestration.dbt_manifest import read_manifest
from orchestration.defs.dbt_project import regenheart_dbt_project

# --- ingestion and history -----------------------------------------------------------------------

RAW_TRANSFER_LOG = dg.AssetKey(["raw", "transfer_log"])
RAW_FILE_KEYS = {domain: dg.AssetKey(["raw", domain]) for domain in dts.DTS_FILES}
HISTORY_TRANSFERS = dg.AssetKey(["history", "transfers"])
HISTORY_FILE_KEYS = {domain: dg.AssetKey(["history", domain]) for domain in dts.DTS_FILES}
RAW_KEYS = [RAW_TRANSFER_LOG, *RAW_FILE_KEYS.values()]
HISTORY_KEYS = [HISTORY_TRANSFERS, *HISTORY_FILE_KEYS.values()]
PUBLISHED_WAREHOUSE = dg.AssetKey("published_warehouse")


class RebuildConfig(dg.Config):
    """The one setting of a layer step (raw, history): run config `ops.<step>.config.rebuild`."""

    rebuild: bool = Field(
        default=False,
        description="Rebuild the layer from scratch. Ingestion: rebuild and republish even when no transfer is new "
        "and the code is unchanged. History: forget it and replay every loaded transfer from raw (equal to the "
        "incremental history).",
    )


def transfer_layer_asset(
    name: str,
    group_name: str,
    transfers: dg.AssetKey,
    files: Mapping[str, dg.AssetKey],
    *,
    transfers_description: str,
    file_description: Callable[[str], str],
    built_from: tuple[dg.AssetKey, Mapping[str, dg.AssetKey]] | None = None,
    skippable: bool = False,
) -> Callable:
    """The step `name` that writes a layer (raw, history): the layer's
    table of transfers and one table per DTS file, each built from the same table of the layer
    `built_from` (its transfers and files)."""
    upstream_transfers, upstream_files = built_from or (None, {})

    def spec(key: dg.AssetKey, description: str, *deps: dg.AssetKey | None) -> dg.AssetSpec:
        return dg.AssetSpec(
            key, deps=[d for d in deps if d is not None], description=description, kinds={"duckdb"}, skippable=skippable
        )

    specs = [
        spec(transfers, transfers_description, upstream_transfers),
        *[
            spec(key, file_description(domain), upstream_transfers, upstream_files.get(domain))
            for domain, key in files.items()
        ],
    ]
    return dg.multi_asset(name=name, group_name=group_name, specs=specs)

# --- the dbt project and its models --------------------------------------------------------------


def dbt_asset_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
    """Models keyed by schema and name (`marts/adsl`); sources as the raw and history assets (`raw/dm`)."""
    if dbt_resource_props["resource_type"] == "source":
        return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
    return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])


def _model_keys(schema: str) -> list[dg.AssetKey]:
    nodes = read_manifest(regenheart_dbt_project.manifest_path)["nodes"].values()  # parsed once for the four
    keys = (dbt_asset_key(node) for node in nodes if node["resource_type"] == "model" and node["schema"] == schema)
    return sorted(keys, key=lambda key: key.path)


STAGING_KEYS = _model_keys("staging")
MARTS_KEYS = _model_keys("marts")
SDTM_KEYS = _model_keys("sdtm")
ADAM_KEYS = _model_keys("adam")

# --- the gates -----------------------------------------------------------------------------------

GATE_CHECK_NAMES = {
    "raw": "gx_raw_suite",
    "history": "gx_history_suite",
    "staging": "gx_staging_suite",
    "marts": "gx_marts_suite",
}

# --- the run's scope -----------------------------------------------------------------------------


def ingestion_metadata_of_run(context) -> dict | None:
    """The metadata ingestion recorded in this run, or None when it did not run in this run (a
    step materialized on its own from the UI)."""
    event = context.instance.get_latest_materialization_event(RAW_TRANSFER_LOG)
    if event is None or event.run_id != context.run.run_id:
        return None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def changed_sites_of_run(context) -> list[str] | None:
    """The sites this run rebuilds and validates again: those with a transfer the last publication
    (by the same code) was not built from. None means every site: first build, new code, a
    --rebuild, or no ingestion in this run."""
    metadata = ingestion_metadata_of_run(context)
    if metadata is None or metadata.get("rebuild_all_sites", True):
        return None
    return list(metadata.get("changed_sites") or [])
