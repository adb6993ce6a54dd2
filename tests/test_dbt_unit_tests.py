"""The dbt unit tests (hand-computed derivations, in the models' *_unit_tests.yml) pass.

They check SQL, not data, so the nightly build skips them; here they run on a copy of the sample's
build database, which gives them their input tables' types (a copy: dbt opens it to write, and other
tests read the shared sample at the same time).
"""

import re
import shutil

from conftest import build_database, run_dbt
from orchestration.dbt_manifest import read_manifest

UNIT_TESTS = 20  # in dbt_project/models/**/_*__unit_tests.yml


def test_every_dbt_unit_test_passes(sample_warehouse, tmp_path):
    copy = tmp_path / sample_warehouse.name
    shutil.copyfile(build_database(sample_warehouse), build_database(copy))
    result = run_dbt(copy, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-5000:]
    assert len(read_manifest()["unit_tests"]) == UNIT_TESTS
    assert int(re.search(r"PASS=(\d+)", result.stdout).group(1)) == UNIT_TESTS
    assert f"ERROR=0 SKIP=0 NO-OP=0 TOTAL={UNIT_TESTS}" in result.stdout
