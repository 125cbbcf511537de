"""Create and Update: start the job, then poll it until its model is registered behind the quality gate.

A failed or stopped job, a rejected model or a job past its deadline fails the deploy within one
poll, with a message that names the job and says why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlops_core.quality_gate import quality_gate, validation_auc
from mlops_stacks.handlers.training_run.artifacts import artifact_exists, publish_registry_files, read_registry_files
from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from mlops_stacks.handlers.training_run.errors import TrainingRunError, truncate, truncate_utf8
from mlops_stacks.handlers.training_run.jobs import (
    RUNNING_STATUSES,
    describe_job,
    project_jobs_in_progress,
    seconds_since,
    start_training_job,
    stop_job,
)
from mlops_stacks.handlers.training_run.log_streams import JobLogTail, job_log_tail, sagemaker_reason
from mlops_stacks.handlers.training_run.properties import TrainingRunProperties, physical_resource_id
from mlops_stacks.handlers.training_run.versions import VersionRequest, is_approved, register_model_version

logger = logging.getLogger(__name__)

# A failed job's message: train.py's own reason (at most 1024 characters, model_code.failure_reason),
# else SageMaker's FailureReason and the last log lines; in bytes, as the response limit counts.
MAX_REASON_BYTES = 1024
MAX_FAILURE_REASON_BYTES = 600
MAX_LOG_LINES_BYTES = 420
# A version's ModelPackageStatusDetails, cut to keep the message short.
MAX_FAILURE_REASON_CHARS = 800
# A new version is validated within seconds; longer means SageMaker is stuck, not busy.
PACKAGE_WAIT_SECONDS = 600


def start(event: dict[str, Any], clients: TrainingRunClients) -> dict[str, Any]:
    """Start the job in the properties (or find it started), and stop a cancelled update's job."""
    props = TrainingRunProperties.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker = clients.sagemaker
    job, started = start_training_job(sagemaker, props)
    logger.info(
        "%s training job %s (%s)",
        "started" if started else "reusing",
        props.job_name,
        job.get("TrainingJobStatus"),
    )
    # A job of a cancelled update keeps running after CloudFormation rolled back: stop it.
    for name in project_jobs_in_progress(sagemaker, props.job_name_prefix, props.output_path):
        if name != props.job_name:
            stop_job(sagemaker, name)
    return {
        "PhysicalResourceId": physical_resource_id(props.model_package_group_name),
        "Data": {"JobName": props.job_name},
    }


def check(event: dict[str, Any], clients: TrainingRunClients) -> dict[str, Any]:
    """Poll the job; once its artifact is there, register the model and answer complete when approved."""
    props = TrainingRunProperties.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker, s3 = clients.sagemaker, clients.s3
    job = describe_job(sagemaker, props.job_name)
    if job is None:
        raise TrainingRunError(f"training job {props.job_name} does not exist although onEvent started it")
    status = job["TrainingJobStatus"]
    secondary = job.get("SecondaryStatus", "")
    age = seconds_since(job["CreationTime"])
    if status in RUNNING_STATUSES:
        if age <= props.deadline_seconds:
            logger.info("training job %s is %s (%s) after %.0f s", props.job_name, status, secondary, age)
            return {"IsComplete": False}
        if status == "InProgress":
            stop_job(sagemaker, props.job_name)
        raise TrainingRunError(
            f"training job {props.job_name} was still {status} ({secondary}) {age:.0f} s after it was "
            f"created, past the deadline of {props.deadline_seconds} s; it has been stopped. Use a "
            "faster instance type, fewer boosting rounds or less data."
        )
    if status != "Completed":
        raise TrainingRunError(failure_message(props, job, clients.logs))

    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    if not artifact_exists(s3, model_data_url):
        if age > props.deadline_seconds:
            raise TrainingRunError(
                f"training job {props.job_name} completed but its artifact {model_data_url} does not exist"
            )
        logger.info("training job %s completed; waiting for %s", props.job_name, model_data_url)
        return {"IsComplete": False}

    files = read_registry_files(s3, model_data_url)
    evaluation = files.evaluation_json()
    # The drift job reads this baseline hours later: a bad one fails the deploy now, naming the field.
    files.baseline_json()
    publish_registry_files(s3, props.evaluation_uri, props.baseline_uri, files)
    decision = quality_gate(evaluation, props.min_validation_auc)
    request = VersionRequest(
        group=props.model_package_group_name,
        job_name=props.job_name,
        image=props.training_image,
        model_data_url=model_data_url,
        serving_environment=props.serving_environment,
        min_validation_auc=props.min_validation_auc,
        evaluation_uri=props.evaluation_uri,
        baseline_uri=props.baseline_uri,
        decision=decision,
        status=decision.status,
    )
    package = register_model_version(sagemaker, request, files, job_created=job["CreationTime"])
    return _registered(props, package, decision.reason, model_data_url, validation_auc(evaluation))


def failure_message(props: TrainingRunProperties, job: Mapping[str, Any], logs: Any) -> str:
    """Why the job failed, for the CloudFormation event, each part cut so that the response fits 4 KB.

    train.py's marked reason from the job's log when it is there, else SageMaker's FailureReason
    and the last lines of the log.
    """
    status, secondary = job["TrainingJobStatus"], job.get("SecondaryStatus", "")
    if props.training_log_group:
        tail = job_log_tail(logs, props.training_log_group, props.job_name)
    else:
        tail = JobLogTail(error="the TrainingLogGroup property is not set")
    reason = tail.reason
    if reason:
        why = truncate_utf8(reason, MAX_REASON_BYTES)
    else:
        why = truncate_utf8(sagemaker_reason(job), MAX_FAILURE_REASON_BYTES)
        last = tail.last_lines()
        if last:
            why += "; last log lines: " + truncate_utf8(" | ".join(last), MAX_LOG_LINES_BYTES)
        elif tail.error:
            why += f" ({tail.error})"
    if secondary == "MaxRuntimeExceeded":
        why += f" (it ran longer than MaxRuntimeSeconds={props.max_runtime_seconds})"
    where = f"the log group {props.training_log_group}" if props.training_log_group else "CloudWatch Logs"
    return (
        f"training job {props.job_name} {status} ({secondary}): {why}. See {where}, stream "
        f"{tail.stream or props.job_name + '/*'}. Job names are reused only for identical inputs: change the "
        "data, code or hyperparameters to train again."
    )


def _registered(
    props: TrainingRunProperties,
    package: dict[str, Any],
    gate_reason: str,
    model_data_url: str,
    auc: float | None,
) -> dict[str, Any]:
    """Answer once a version exists: complete when approved, an error when it is not."""
    arn = package["ModelPackageArn"]
    package_status = package.get("ModelPackageStatus", "Completed")
    if package_status == "Failed":
        details = truncate(str(package.get("ModelPackageStatusDetails", "")), MAX_FAILURE_REASON_CHARS)
        raise TrainingRunError(f"model package {arn} of training job {props.job_name} failed validation: {details}")
    if package_status != "Completed":
        if seconds_since(package["CreationTime"]) > PACKAGE_WAIT_SECONDS:
            raise TrainingRunError(f"model package {arn} is still {package_status} after {PACKAGE_WAIT_SECONDS} s")
        return {"IsComplete": False}
    approval = package.get("ModelApprovalStatus")
    if not is_approved(package):
        stored_gate = package.get("CustomerMetadataProperties", {}).get("gate_status")
        why = gate_reason if approval == stored_gate else f"its status was set to {approval} in the registry"
        raise TrainingRunError(
            f"the model of training job {props.job_name} is {approval}: {why}. It is registered as {arn}; "
            "the endpoint keeps serving the previous approved model."
        )
    return {
        "IsComplete": True,
        "Data": {
            "ModelPackageArn": arn,
            "ModelDataUrl": model_data_url,
            "JobName": props.job_name,
            "ApprovalStatus": str(approval),
            "ValidationAuc": "" if auc is None else repr(auc),
            "BaselineUri": props.baseline_uri,
            "EvaluationUri": props.evaluation_uri,
        },
    }
