"""The dbt steps run dbt in the Dagster process (orchestration/defs/dbt/in_process.py). Materialised
alone, from a copy of the sample's build database with a subject twice in int_adsl: only the
selected model and its tests run; the failed dbt test is a failed asset check and fails the step,
which names it with dbt's reason; and dbt leaves the build database closed, so this process opens it
again (dbt-duckdb would otherwise keep it open with its own settings)."""

import dagster as dg
import duckdb

from conftest import build_database, copy_of_warehouse
from orchestration.defs.progress_logger import step_failure_cause

ADSL = dg.AssetKey(["marts", "adsl"])


def test_a_model_built_alone_fails_its_step_on_a_failed_dbt_test(sample_warehouse, dbt_manifest, tmp_path):
    from orchestration.defs.dbt.assets import dbt_analysis  # needs the prepared manifest
    from orchestration.defs.resources import WarehouseResource

    warehouse = copy_of_warehouse(sample_warehouse, tmp_path / "warehouse")
    with duckdb.connect(str(build_database(warehouse))) as con:
        con.execute("INSERT INTO intermediate.int_adsl SELECT * FROM intermediate.int_adsl ORDER BY USUBJID LIMIT 1")
        subjects = con.execute("SELECT count(*) FROM intermediate.int_adsl").fetchone()[0]

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [dbt_analysis], selection=[ADSL], instance=instance, raise_on_error=False,
            resources={"warehouse": WarehouseResource(landing_dir=str(tmp_path), warehouse_path=str(warehouse))},
        )
        commands = [record.user_message for record in instance.all_logs(result.run_id)
                    if record.user_message.startswith("Running dbt command")]

    events = {kind: [e for e in result.all_events if e.event_type_value == kind]
              for kind in ("STEP_FAILURE", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION")}
    assert [step_failure_cause(e.step_failure_data.error) for e in events["STEP_FAILURE"]] == [
        "DbtBuildFailed: dbt build failed (1 node(s)):\n"
        "test unique_adsl_USUBJID: fail: Got 1 result, configured to fail if != 0"
    ]
    assert [e.asset_key for e in events["ASSET_MATERIALIZATION"]] == [ADSL], "adsl alone was built"
    checks = {e.event_specific_data.check_name: e.event_specific_data.passed for e in events["ASSET_CHECK_EVALUATION"]}
    assert {e.event_specific_data.asset_key for e in events["ASSET_CHECK_EVALUATION"]} == {ADSL}
    assert [name for name, passed in checks.items() if not passed] == ["unique_adsl_USUBJID"]
    assert len(checks) > 10, checks  # adsl's other tests ran, and passed
    assert len(commands) == 1 and "--select regenheart.marts.adsl" in commands[0], commands
    with duckdb.connect(str(build_database(warehouse)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.adsl").fetchone()[0] == subjects
