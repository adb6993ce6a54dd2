"""`regenheart docs`: dbt's documentation site for the warehouse, built and served offline.

`dbt docs generate --static` reads the catalog (tables, columns, types) from the build database and
writes the site beside the warehouse (`<warehouse dir>/docs/dbt/`): `index.html` with its
manifest.json and catalog.json, and `static_index.html`, the same site in one file that opens
without a server. The site's scripts and styles are bundled in the page: it needs no network.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from orchestration.publishing import build_database_path
from orchestration.settings import DBT_PROJECT_DIR, Settings


class DocsUnavailable(Exception):
    """The docs cannot be built (no build database yet, or dbt failed)."""


def docs_dir(settings: Settings) -> Path:
    return settings.warehouse.parent / "docs" / "dbt"


def build_dbt_docs(settings: Settings, say: Callable[[str], None]) -> Path:
    """Generate the dbt docs site for the build database of `settings.warehouse`; return its folder."""
    build = build_database_path(settings.warehouse)
    if not build.exists():
        raise DocsUnavailable(f"no build database at {build}: run `regenheart refresh` (or `make demo`) first")
    out = docs_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    say(f"docs: dbt docs generate (catalog from {build}) -> {out}")
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "docs", "generate", "--static", "--target-path", str(out), "--log-path", str(out),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR)],
        env={**os.environ, "REGENHEART_BUILD_DATABASE": str(build)},
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
    )
    if result.returncode != 0:
        detail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DocsUnavailable(f"dbt docs generate failed (is a refresh running? it holds the build database):\n{detail}")
    say(f"docs: written {out / 'index.html'} (one-file version: {out / 'static_index.html'})")
    return out


def serve_dbt_docs(folder: Path, port: int, say: Callable[[str], None]) -> None:
    """Serve the site on localhost until interrupted."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        say(f"docs: serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            say("docs: stopped")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request would drown the URL
        pass
