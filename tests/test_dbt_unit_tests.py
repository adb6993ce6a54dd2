"""The dbt unit tests (hand-computed derivations, in the models' *_unit_tests.yml) pass.

They check SQL, not data, so the nightly build skips them; here they run on the sample warehouse,
which gives them their input tables' types.
"""

import re

from conftest import run_dbt


def test_every_dbt_unit_test_passes(sample_warehouse):
    result = run_dbt(sample_warehouse, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-5000:]
    passed = int(re.search(r"PASS=(\d+)", result.stdout).group(1))
    assert passed >= 1
    assert "ERROR=0" in result.stdout
