"""Exports for statisticians, rewritten after each refresh from the published warehouse.

`write_exports(published, out_dir)` opens the published DuckDB file read-only and writes into
out_dir (the refresh uses `exports/` beside REGENHEART_WAREHOUSE):

- `<table>.parquet` and `<table>.csv` for every table of schema marts, rows in the mart's order;
- `adsl.xpt`, `adeff.xpt`, `adae.xpt`: SAS transport version 5, a label on every variable
  (`config.meta.label` of the marts models' columns, in dbt's manifest), dates and datetimes as SAS dates/datetimes (DATE9., DATETIME20.);
- `manifest.json`: the files of this export with their row counts, the publication they were
  written from, and what XPT v5 could not hold as it is (`xpt_adjustments`: values cut to 200
  bytes or written missing, counted per file and column; CSV and Parquet keep them whole).

Each file is written under a temporary name in out_dir and renamed into place, so a reader sees
the previous file or the new one, never half a file (the set as a whole is not one atomic step).
A file that an earlier export listed in its manifest and this one did not write (a table dropped
from marts) is removed; nothing else in out_dir is touched.
"""

from orchestration.exports.writer import Exports, write_exports

__all__ = ["Exports", "write_exports"]
