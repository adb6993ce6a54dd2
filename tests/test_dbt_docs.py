"""`regenheart docs`: dbt's documentation site, built from the sample's build database and served
on localhost, with nothing loaded from the network."""

import json
import os
import re
import shutil
import sys
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from conftest import REPO_ROOT, build_database
from orchestration.dbt_docs import _QuietHandler
from processes import run


@pytest.fixture(scope="module")
def docs(sample_warehouse, tmp_path_factory):
    # a copy: dbt opens the build database for writing, and other tests read the sample's
    root = tmp_path_factory.mktemp("docs")
    warehouse = root / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    shutil.copy(build_database(sample_warehouse), build_database(warehouse))
    result = run(
        [sys.executable, "-m", "orchestration.cli", "docs"],
        env={**os.environ, "REGENHEART_WAREHOUSE": str(warehouse)}, timeout=300, cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    return root / "docs" / "dbt"


def test_catalog_documents_the_published_tables(docs):
    catalog = json.loads((docs / "catalog.json").read_text())
    adsl = catalog["nodes"]["model.regenheart.adsl"]
    assert adsl["metadata"]["schema"] == "marts"
    assert adsl["columns"]["USUBJID"]["type"] == "VARCHAR" and adsl["columns"]["TRTSDT"]["type"] == "DATE"
    assert catalog["sources"]["source.regenheart.history.echo"]["columns"]["VALID_FROM"]
    manifest = json.loads((docs / "manifest.json").read_text())
    assert "ISSUE_ID" in manifest["nodes"]["model.regenheart.data_issues"]["columns"]


def test_site_loads_nothing_from_the_network(docs):
    for page in ("index.html", "static_index.html"):
        html = (docs / page).read_text(encoding="utf-8")
        external = re.findall(r"""<(?:script|link|img)\b[^>]*(?:src|href)=["']?(?:https?:)?//""", html)
        assert not external, (page, external)


def test_served_on_localhost(docs):
    handler = lambda *args: _QuietHandler(*args, directory=str(docs))  # noqa: E731
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            assert b"dbt" in urllib.request.urlopen(f"{base}/index.html", timeout=10).read()
            assert json.loads(urllib.request.urlopen(f"{base}/catalog.json", timeout=10).read())["nodes"]
        finally:
            server.shutdown()


def test_docs_without_a_build_database_say_what_to_do(tmp_path):
    result = run(
        [sys.executable, "-m", "orchestration.cli", "docs"],
        env={**os.environ, "REGENHEART_WAREHOUSE": str(tmp_path / "none.duckdb")}, timeout=60, cwd=REPO_ROOT,
    )
    assert result.returncode == 3
    assert "no build database" in result.stderr and "regenheart refresh" in result.stderr
