"""The submission package: SDTM datasets as SAS XPT v5 and Dataset-JSON v1.1 with Define-XML 2.1,
cut from the published warehouse on demand (`regenheart submission`, the Dagster job `submission`)."""

from orchestration.submission.package import (
    CONFORMANCE, Submission, SubmissionFailed, submission_folder, write_submission,
)
from orchestration.submission.published import NoPublishedWarehouse

__all__ = ["CONFORMANCE", "NoPublishedWarehouse", "Submission", "SubmissionFailed", "submission_folder",
           "write_submission"]
