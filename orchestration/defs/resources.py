"""Resources built from the contract's settings (REGENHEART_LANDING_DIR, REGENHEART_WAREHOUSE)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from orchestration.publishing import build_database_path
from orchestration.refresh_lock import RefreshLockBusy, acquire_refresh_lock, release_refresh_lock
from orchestration.settings import Settings
from orchestration.warehouse import connect

DEFAULT_LOCK_WAIT_SECONDS = 3600


class WarehouseResource(dg.ConfigurableResource):
    """Where transfers arrive, the build database, and the published file analysts open.

    A run holds the warehouse's refresh lock (orchestration/refresh_lock.py) from its first
    connection() to its end, so that no other refresh gets in between two of its steps."""

    landing_dir: str
    warehouse_path: str
    lock_wait_seconds: int = Field(
        default=DEFAULT_LOCK_WAIT_SECONDS,
        ge=0,
        description="How long a step waits for another refresh of the same warehouse to end before it fails.",
    )
    _holds_refresh_lock: bool = PrivateAttr(default=False)

    @property
    def published_path(self) -> Path:
        return Path(self.warehouse_path)

    @property
    def build_path(self) -> Path:
        return build_database_path(self.published_path)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The build database. One writer at a time: open it for a step's work, close before dbt."""
        self._take_refresh_lock()
        con = connect(self.build_path)
        try:
            yield con
        finally:
            con.close()

    def _take_refresh_lock(self) -> None:
        # Taken on first use, not in setup_for_execution: the sensor builds this resource too, and a
        # run that never opens the build database (the report alone) has no reason to wait.
        if self._holds_refresh_lock:
            return
        try:
            acquire_refresh_lock(
                self.published_path,
                self.lock_wait_seconds,
                say=self._log,
                wait_setting="the warehouse resource's lock_wait_seconds",
            )
        except RefreshLockBusy as busy:
            raise dg.Failure(
                description=f"{busy}; the step did not start: run it again once that refresh has ended",
                allow_retries=False,
            ) from None
        self._holds_refresh_lock = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # Once per run with the in-process executor (once per step process with another executor).
        if self._holds_refresh_lock:
            self._holds_refresh_lock = False
            release_refresh_lock(self.published_path)

    def _log(self, line: str) -> None:
        try:
            log = self.get_resource_context().log  # the run's log, in a run
        except Exception:  # used outside a run: Dagster has no resource context to give
            log = None
        (log or dg.get_dagster_logger()).info(line)

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(landing_dir=str(settings.landing_dir), warehouse_path=str(settings.warehouse))
