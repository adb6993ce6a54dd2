"""The submission package: SDTM tabulations and ADaM analysis datasets as SAS XPT v5 and
Dataset-JSON v1.1, each folder with its Define-XML 2.1, cut from the published warehouse on demand
(`regenheart submission`, the Dagster job `submission`)."""

from orchestration.submission.package import (
    CONFORMANCE, Submission, SubmissionFailed, submission_folder, write_submission,
)
from orchestration.submission.published import NoPublishedWarehouse

__all__ = ["CONFORMANCE", "NoPublishedWarehouse", "Submission", "SubmissionFailed", "submission_folder",
           "write_submission"]
