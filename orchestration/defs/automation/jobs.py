"""The nightly refresh: every asset, in one process (DuckDB takes one writer at a time)."""

import dagster as dg

nightly_refresh = dg.define_asset_job(
    name="nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Pick up new complete transfers, load them, and rebuild the marts (as `regenheart refresh`).",
    executor_def=dg.in_process_executor,
)
