"""The dbt layers' dependencies (dbt's manifest): ADSL first, and no mart built from another mart."""

from orchestration.dbt_manifest import read_manifest


def _models(dbt_manifest) -> dict[str, dict]:
    nodes = read_manifest()["nodes"]
    return {node["name"]: node for node in nodes.values() if node["resource_type"] == "model"}


def _folder(node: dict) -> str:
    return node["original_file_path"].split("/")[1]  # models/<folder>/...


def test_no_mart_reads_another_mart(dbt_manifest):
    models = _models(dbt_manifest)
    by_id = {node["unique_id"]: node for node in models.values()}
    read = {
        (name, by_id[parent]["name"])
        for name, node in models.items() if _folder(node) == "marts"
        for parent in node["depends_on"]["nodes"] if parent in by_id and _folder(by_id[parent]) == "marts"
    }
    assert read == set()


def test_every_analysis_dataset_takes_its_subjects_from_int_adsl(dbt_manifest):
    models = _models(dbt_manifest)
    readers = {name for name, node in models.items() if "model.regenheart.int_adsl" in node["depends_on"]["nodes"]}
    assert readers == {"adsl", "int_safety__adae", "int_efficacy__summary_stats", "safety_summary", "sdtm_dm", "adam_adsl"}
    assert _folder(models["int_adsl"]) == "intermediate" and _folder(models["adsl"]) == "marts"
