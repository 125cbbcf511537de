"""The training jobs of this project: describe one, stop one, find the ones still running.

Every function is idempotent: a retried Lambda finds the job already stopped, or gone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found

logger = logging.getLogger(__name__)

RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})


def describe_job(sagemaker: Any, job_name: str) -> dict[str, Any] | None:
    """DescribeTrainingJob, or None when no job has that name."""
    try:
        return sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


def job_output_path(job: Mapping[str, Any]) -> str:
    """Read the S3 output path of a described job, without a trailing slash."""
    return str(job.get("OutputDataConfig", {}).get("S3OutputPath", "")).rstrip("/")


def stop_job(sagemaker: Any, job_name: str) -> bool:
    """Ask SageMaker to stop a job; False when it is gone or already finished (nothing to stop)."""
    try:
        sagemaker.stop_training_job(TrainingJobName=job_name)
    except ClientError as err:
        message = str(err.response.get("Error", {}).get("Message", ""))
        # "The request was rejected because the training job is in status Stopped."
        if is_not_found(err) or "is in status" in message:
            logger.info("nothing to stop for %s: %s", job_name, message)
            return False
        raise
    logger.info("asked SageMaker to stop training job %s", job_name)
    return True


def project_jobs_in_progress(sagemaker: Any, prefix: str, output_path: str) -> list[str]:
    """In-progress jobs of this deployment: names starting with `prefix` that write to `output_path`.

    The output path (our bucket) tells this deployment's jobs apart from another stage's jobs
    that happen to share the prefix.
    """
    names: list[str] = []
    for page in sagemaker.get_paginator("list_training_jobs").paginate(
        NameContains=prefix[:63], StatusEquals="InProgress"
    ):
        names.extend(
            s["TrainingJobName"] for s in page["TrainingJobSummaries"] if s["TrainingJobName"].startswith(prefix)
        )
    ours = []
    for name in names:
        job = describe_job(sagemaker, name)
        if job and job_output_path(job) == output_path.rstrip("/"):
            ours.append(name)
    return sorted(ours)


def seconds_since(moment: datetime) -> float:
    """Seconds from `moment` (a job's, a version's or a delete request's time) to now."""
    return (datetime.now(UTC) - moment).total_seconds()
