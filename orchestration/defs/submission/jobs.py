"""The submission package as a Dagster job: `submission`, the same work as `regenheart submission`.

An op-based job, not an asset: the package is a data cut made on demand (never part of
nightly_refresh, whose selection is every asset). It reads the published file only, so it takes
no refresh lock and can run while a refresh does (it cuts the publication it opened).
"""

import dagster as dg

from orchestration.defs.resources import WarehouseResource
from orchestration.defs.shared import regenheart_dbt_project


@dg.op(
    name="write_submission_package",
    description=(
        "submission/ beside REGENHEART_WAREHOUSE from the published file: sdtm/<dataset>.xpt and .json for every "
        "table of schema sdtm, adam/<dataset>.xpt and .json for every table of schema adam, in each folder define.xml "
        "(Define-XML 2.1: SDTMIG 3.4, ADaMIG 1.3) and define.html, conformance.json; both folders checked "
        "(Define-XML and Dataset-JSON schemas, define.xml and the data agreeing, codelist values) before it replaces "
        "the previous package as a whole."
    ),
)
def write_submission_package(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> dg.Output:
    from orchestration.submission import NoPublishedWarehouse, SubmissionFailed, write_submission

    try:
        submission = write_submission(
            warehouse.published_path, regenheart_dbt_project.manifest_path, say=context.log.info)
    except NoPublishedWarehouse as missing:
        raise dg.Failure(description=str(missing), allow_retries=False) from None
    except SubmissionFailed as failed:
        raise dg.Failure(
            description=f"{failed}: " + "; ".join(str(f) for f in failed.findings[:20]),
            metadata={"findings": dg.MetadataValue.json([f.record() for f in failed.findings])},
            allow_retries=False,
        ) from None
    context.log.info(f"submission package: {submission.folder}")
    return dg.Output(
        str(submission.folder),
        metadata={
            "path": dg.MetadataValue.path(str(submission.folder)),
            "datasets": dg.MetadataValue.json(submission.datasets),  # per folder: dataset -> records
            "seconds": round(submission.seconds, 1),
        },
    )


@dg.job(
    name="submission",
    description="Write the SDTM and ADaM submission package from the published warehouse (as `regenheart submission`).",
    executor_def=dg.in_process_executor,
)
def submission():
    write_submission_package()
