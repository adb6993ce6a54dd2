"""Resources built from the contract's settings (REGENHEART_LANDING_DIR, REGENHEART_WAREHOUSE)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from orchestration.settings import Settings
from orchestration.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """Where transfers arrive and the DuckDB file they are loaded into."""

    landing_dir: str
    warehouse_path: str

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # One writer at a time: open for the step's work and close before dbt runs.
        con = connect(Path(self.warehouse_path))
        try:
            yield con
        finally:
            con.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(landing_dir=str(settings.landing_dir), warehouse_path=str(settings.warehouse))
