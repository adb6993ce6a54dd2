"""dbt models as Dagster assets, in two steps so that the staged layer's gate sits between them:
staging (with the reference seeds), then intermediate and marts. dbt tests become asset checks."""

import os
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from orchestration.build_state import write_rebuilt_sites
from orchestration.defs.dbt.in_process import dbt_build
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import changed_sites_of_run, dbt_asset_key, regenheart_dbt_project
from orchestration.settings import duckdb_memory_limit


class RegenheartDbtTranslator(DagsterDbtTranslator):
    """Models keyed by schema and name (`marts/adsl`); sources as the raw assets (`raw/dm`)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dbt_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("schema") or "dbt"


TRANSLATOR = RegenheartDbtTranslator()

# dbt unit tests check the SQL, not the data: they run in the test suite, not every night.
# "buildable": a test runs in the step that builds the last of the models it reads.
BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test", "--indirect-selection", "buildable")
# The two dbt steps and what each builds.
STEP_SELECTIONS = {
    "dbt_staging": "resource_type:seed path:models/staging",
    "dbt_analysis": "path:models/intermediate path:models/marts path:models/sdtm path:models/adam",
}


def _build(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    # dbt reads its database path from the environment; hand it the resolved build database.
    os.environ["REGENHEART_BUILD_DATABASE"] = str(warehouse.build_path)
    os.environ["REGENHEART_DUCKDB_MEMORY_LIMIT"] = duckdb_memory_limit()
    args = list(BUILD_ARGS)
    # Staging is incremental by site (macros/staging/staged_by_site.sql): it restages only the
    # sites whose latest transfer changed; the per-subject intermediate and marts models rebuild
    # only the sites in ops.rebuilt_sites (macros/rebuilt_sites.sql). Both when this run's
    # ingestion says the code is the one the last publication was built with. Anything else (first
    # build, new code, --rebuild, a dbt step run alone) rebuilds every model from scratch.
    sites = changed_sites_of_run(context)
    with warehouse.connection() as con:
        write_rebuilt_sites(con, sites)
    if sites is None:
        args.append("--full-refresh")
    yield from dbt_build(
        context, args, project=regenheart_dbt_project, translator=TRANSLATOR,
        target_path=_dbt_target_path(warehouse), database_name=warehouse.build_path.stem,
    )


def _dbt_target_path(warehouse: WarehouseResource) -> Path:
    """One dbt target folder per build database, kept between runs.

    dbt reuses its parse of the project (partial parsing) only when the connection settings are
    those it parsed with, and the build database's path is one of them: a folder per build
    database keeps the parse valid from one step and one run to the next (about 10 s a step)."""
    return warehouse.build_path.parent / "dbt-target"


def _dbt_step(name: str, select: str) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=regenheart_dbt_project.manifest_path,
        project=regenheart_dbt_project,
        dagster_dbt_translator=TRANSLATOR,
        select=select,
        name=name,
    )
    def dbt_step(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        yield from _build(context, warehouse)

    return dbt_step


dbt_staging = _dbt_step("dbt_staging", STEP_SELECTIONS["dbt_staging"])
dbt_analysis = _dbt_step("dbt_analysis", STEP_SELECTIONS["dbt_analysis"])
