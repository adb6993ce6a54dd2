"""dbt models as Dagster assets; dbt tests become asset checks."""


import os
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.dbt.project import regenheart_dbt_project
from orchestration.defs.resources import WarehouseResource


class RegenheartDbtTranslator(DagsterDbtTranslator):
    """Models keyed by schema and name (`marts/adsl`); sources as the raw assets (`raw/dm`)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("schema") or "dbt"


@dbt_assets(
    manifest=regenheart_dbt_project.manifest_path,
    project=regenheart_dbt_project,
    dagster_dbt_translator=RegenheartDbtTranslator(),
)
def regenheart_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # dbt reads the warehouse path from the contract's variable; hand it the resolved one.
    os.environ["REGENHEART_WAREHOUSE"] = warehouse.warehouse_path
    # dbt unit tests check the SQL, not the data: they run in the test suite, not every night.
    yield from dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context).stream()
