"""Resources built from the contract's settings (REGENHEART_LANDING_DIR, REGENHEART_WAREHOUSE)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from orchestration.publishing import build_database_path
from orchestration.settings import Settings
from orchestration.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """Where transfers arrive, the build database, and the published file analysts open."""

    landing_dir: str
    warehouse_path: str

    @property
    def published_path(self) -> Path:
        return Path(self.warehouse_path)

    @property
    def build_path(self) -> Path:
        return build_database_path(self.published_path)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The build database. One writer at a time: open it for a step's work, close before dbt."""
        con = connect(self.build_path)
        try:
            yield con
        finally:
            con.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(landing_dir=str(settings.landing_dir), warehouse_path=str(settings.warehouse))
