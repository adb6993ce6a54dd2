"""Great Expectations validation of the warehouse layers (suites in expectations/<layer>/*.json).

    from orchestration.quality import LAYERS, validate_layer, write_validation_summary

    report = validate_layer(con, "raw", new_transfers=[("KZ01", "20230315T020000Z")])
    report = validate_layer(con, "staging")   # or "history", "marts"
    report.passed                              # False iff a critical expectation failed
    write_validation_summary([report], path)   # one self-contained HTML page

Importing this package does not import Great Expectations (slow): validate_layer does, once, only
for an expectation that neither DuckDB nor the schema checks run, or with engine="pandas".
"""

from orchestration.quality.report import render_validation_summary, write_validation_summary
from orchestration.quality.suites import EXPECTATIONS_DIR, LAYERS, SuiteDefinition, load_layer_suites
from orchestration.quality.outcomes import ExpectationOutcome, LayerReport, SuiteReport, expectation_id
from orchestration.quality.validate import validate_layer

__all__ = [
    "EXPECTATIONS_DIR",
    "LAYERS",
    "ExpectationOutcome",
    "LayerReport",
    "SuiteDefinition",
    "SuiteReport",
    "expectation_id",
    "load_layer_suites",
    "render_validation_summary",
    "validate_layer",
    "write_validation_summary",
]
