"""The training jobs of a TrainingRun: the CreateTrainingJob request, start once, stop, find this project's.

Every function is idempotent, because the Provider framework retries and CloudFormation replays
old properties on rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found
from mlops_stacks.handlers.training_run.errors import TrainingRunError
from mlops_stacks.handlers.training_run.properties import TrainingRunProperties

logger = logging.getLogger(__name__)

RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """SageMaker's Tags shape from a plain mapping."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "text/csv",
        "CompressionType": "None",
    }


def training_job_request(props: TrainingRunProperties) -> dict[str, Any]:
    """Build the CreateTrainingJob request of a script-mode run in the XGBoost framework container."""
    return {
        "TrainingJobName": props.job_name,
        "RoleArn": props.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": props.training_image,
            "TrainingInputMode": "File",
            "MetricDefinitions": props.metric_definitions,
        },
        "HyperParameters": props.hyperparameters,
        "InputDataConfig": [
            _channel("train", props.train_channel_uri),
            _channel("validation", props.validation_channel_uri),
        ],
        "OutputDataConfig": {"S3OutputPath": props.output_path},
        "ResourceConfig": {
            "InstanceType": props.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": props.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": props.max_runtime_seconds},
        "Tags": tag_list(props.tags),
    }


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


def start_training_job(sagemaker: Any, props: TrainingRunProperties) -> tuple[dict[str, Any], bool]:
    """Start the job unless one with its name exists; return its description and whether we started it.

    Job names are unique per account and region, so a retried create or a rollback to old
    properties finds the existing job (CreateTrainingJob answers ResourceInUse) and never
    starts a duplicate.
    """
    started = True
    try:
        sagemaker.create_training_job(**training_job_request(props))
    except ClientError as err:
        error = err.response.get("Error", {})
        message = str(error.get("Message", ""))
        if error.get("Code") != "ResourceInUse" and "already exists" not in message:
            raise
        started = False
    job = describe_job(sagemaker, props.job_name)
    if job is None:
        raise TrainingRunError(f"training job {props.job_name} was created but DescribeTrainingJob cannot find it")
    output = job_output_path(job)
    if not started and output != props.output_path:
        raise TrainingRunError(
            f"a training job named {props.job_name} already exists but writes to {output}, not "
            f"{props.output_path}: the job name is not unique to this deployment; give each "
            "deployment its own project name"
        )
    return job, started


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
