"""Lambda entry points of the TrainingRun custom resource (Provider framework onEvent/isComplete).

Create/Update start the training job named in the properties (never twice: names are unique
and content-hashed). Every poll, `is_complete` looks at the job; once it has completed and
`model.tar.gz` exists, the model is registered in the group behind the quality gate. A failed or
stopped job, a rejected model or a job past its deadline fails the deploy within one poll, with
a message that names the job and says why.

Delete stops this project's running jobs and deletes the group's versions (unless the
`RetainVersions` property is "true"); its `is_complete` then waits, within DELETE_WAIT_SECONDS,
for the jobs to leave Stopping and for the versions to leave Deleting (DeleteModelPackage is
asynchronous, and DeleteModelPackageGroup fails while a version is listed). Last, when the
`TrainingLogGroup` property names the shared training log group, it deletes the log streams of
this project's jobs there. Delete never fails on something already gone.

The PhysicalResourceId is stable (`<group>-training-run`), so an update that trains a new model
does not make CloudFormation delete the old resource: the registry keeps its history and the
running endpoint keeps its package.

"This project's jobs" are the in-progress jobs whose name starts with the job-name prefix and
that write to the same OutputPath (our bucket). The prefix is the optional `JobNamePrefix`
property, else the job name up to its last hyphen (`<project>-<hash>` gives `<project>-`); the
output path keeps another stage's jobs with the same prefix out. Create/Update also stop such a
job when it is not the one in the properties: a cancelled update leaves its job running, and
the rollback (old properties, old job name) should not pay for it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops_core.quality_gate import quality_gate, validation_auc
from mlops_stacks.handlers.job_logs import JobLogTail, job_log_tail, sagemaker_reason
from mlops_stacks.handlers.registration import (
    JOB_NAME_PATTERN,
    RUNNING_STATUSES,
    PropertyError,
    TrainingRunError,
    TrainingRunProperties,
    artifact_exists,
    default_job_name_prefix,
    delete_model_versions,
    delete_project_log_streams,
    describe_job,
    flag_property,
    is_approved,
    project_jobs_in_progress,
    publish_registry_files,
    read_registry_files,
    register_model_version,
    start_training_job,
    stop_job,
    truncate,
    truncate_utf8,
    versions_left,
)

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# A custom resource's response must stay under 4096 bytes; the framework adds the log group
# name and a stack trace to our message, so the message itself stays well below that.
MAX_MESSAGE_BYTES = 1500
# A failed job's message: train.py's own reason (at most 1024 characters, model_code.failure_reason),
# else SageMaker's FailureReason and the last log lines; in bytes, as the response limit counts.
MAX_REASON_BYTES = 1024
MAX_FAILURE_REASON_BYTES = 600
MAX_LOG_LINES_BYTES = 420
# A version's ModelPackageStatusDetails, cut to keep the message short.
MAX_FAILURE_REASON_CHARS = 800
# How long Delete waits for stopped jobs to leave Stopping (SIGTERM gives them 120 s) and for
# versions to leave Deleting before letting the destroy continue anyway.
DELETE_WAIT_SECONDS = 600
# Delete waits for at most this many stopped jobs (their names travel in the response's Data).
MAX_WAITED_JOBS = 25
# A new version is validated within seconds; longer means SageMaker is stuck, not busy.
PACKAGE_WAIT_SECONDS = 600
# Log streams deleted per poll: keeps one isComplete call well inside its 2-minute timeout
# (DeleteLogStream is throttled at a few per second); the next poll deletes the rest.
MAX_LOG_STREAMS_PER_POLL = 200
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


def physical_resource_id(group_name: str) -> str:
    """Name the resource stably: one TrainingRun per model package group."""
    return f"{group_name}-training-run"


@functools.cache
def _clients() -> tuple[Any, Any]:
    """Make the SageMaker and S3 clients once per process: building one costs ~0.1-0.3 s."""
    return boto3.client("sagemaker", config=_RETRIES), boto3.client("s3", config=_RETRIES)


@functools.cache
def _logs_client() -> Any:
    """Make the CloudWatch Logs client once per process, and only when a delete needs it."""
    return boto3.client("logs", config=_RETRIES)


@contextmanager
def _user_facing_errors(event: dict[str, Any]) -> Iterator[None]:
    """Turn every error into a short message that names the job, for the CloudFormation event."""
    try:
        yield
    except (TrainingRunError, PropertyError) as err:
        raise type(err)(truncate_utf8(str(err), MAX_MESSAGE_BYTES)) from err
    except Exception as err:
        job = event.get("ResourceProperties", {}).get("JobName", "?")
        message = f"training run {job}: {type(err).__name__}: {err}"
        raise TrainingRunError(truncate_utf8(message, MAX_MESSAGE_BYTES)) from err


def on_event(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Start the job on Create/Update, clean up on Delete (the Provider's onEvent)."""
    request = event.get("RequestType")
    logger.info("%s %s", request, event.get("PhysicalResourceId", ""))
    with _user_facing_errors(event):
        if request in {"Create", "Update"}:
            return _start(event)
        if request == "Delete":
            return _delete(event)
        raise PropertyError(f"RequestType must be Create, Update or Delete, got {request!r}")


def is_complete(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Report whether the job finished and its model is registered, or cleanup is done (isComplete)."""
    with _user_facing_errors(event):
        if event.get("RequestType") == "Delete":
            return _delete_complete(event)
        return _check(event)


def _start(event: dict[str, Any]) -> dict[str, Any]:
    props = TrainingRunProperties.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker, _ = _clients()
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


def _seconds_since(moment: datetime) -> float:
    return (datetime.now(UTC) - moment).total_seconds()


def _check(event: dict[str, Any]) -> dict[str, Any]:
    props = TrainingRunProperties.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker, s3 = _clients()
    job = describe_job(sagemaker, props.job_name)
    if job is None:
        raise TrainingRunError(f"training job {props.job_name} does not exist although onEvent started it")
    status = job["TrainingJobStatus"]
    secondary = job.get("SecondaryStatus", "")
    age = _seconds_since(job["CreationTime"])
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
        raise TrainingRunError(failure_message(props, job))

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
    publish_registry_files(s3, props, files)
    decision = quality_gate(evaluation, props.min_validation_auc)
    package = register_model_version(
        sagemaker,
        props,
        model_data_url=model_data_url,
        files=files,
        decision=decision,
        job_created=job["CreationTime"],
    )
    return _registered(props, package, decision.reason, model_data_url, validation_auc(evaluation))


def failure_message(props: TrainingRunProperties, job: Mapping[str, Any]) -> str:
    """Why the job failed, for the CloudFormation event, each part cut so that the response fits 4 KB.

    train.py's marked reason from the job's log when it is there, else SageMaker's FailureReason
    and the last lines of the log.
    """
    status, secondary = job["TrainingJobStatus"], job.get("SecondaryStatus", "")
    if props.training_log_group:
        tail = job_log_tail(_logs_client(), props.training_log_group, props.job_name)
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
        if _seconds_since(package["CreationTime"]) > PACKAGE_WAIT_SECONDS:
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


@dataclass(frozen=True)
class _DeleteScope:
    """What a Delete cleans up, read leniently: a delete must not fail because a property is odd."""

    job_name: str
    job_name_prefix: str
    group: str
    output_path: str
    retain_versions: bool
    log_group: str

    @classmethod
    def from_resource_properties(cls, raw: Mapping[str, Any]) -> _DeleteScope:
        """Read the properties Delete needs; an unusable one turns its cleanup step off, never fails."""
        job_name = str(raw.get("JobName") or "")
        valid_job = bool(JOB_NAME_PATTERN.match(job_name))
        try:
            retain = flag_property(raw, "RetainVersions", default=False)
        except PropertyError as err:
            # Create validated it; an odd value here means an old template: delete as by default.
            logger.warning("%s; deleting the versions", err)
            retain = False
        return cls(
            job_name=job_name if valid_job else "",
            job_name_prefix=str(raw.get("JobNamePrefix") or default_job_name_prefix(job_name)) if valid_job else "",
            group=str(raw.get("ModelPackageGroupName") or ""),
            output_path=str(raw.get("OutputPath") or "").rstrip("/"),
            retain_versions=retain,
            log_group=str(raw.get("TrainingLogGroup") or ""),
        )


def _delete(event: dict[str, Any]) -> dict[str, Any]:
    """Stop this project's running jobs and delete the group's versions, skipping what is gone."""
    scope = _DeleteScope.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker, _ = _clients()

    running: set[str] = set()
    if scope.job_name:
        job = describe_job(sagemaker, scope.job_name)
        if job and job["TrainingJobStatus"] == "InProgress":
            running.add(scope.job_name)
        if scope.output_path:
            running.update(project_jobs_in_progress(sagemaker, scope.job_name_prefix, scope.output_path))
    stopping = [name for name in sorted(running) if stop_job(sagemaker, name)]
    if scope.retain_versions:
        logger.info("delete: stopping %s, keeping the versions of %s (RetainVersions)", stopping, scope.group)
    else:
        deleted = delete_model_versions(sagemaker, scope.group) if scope.group else []
        logger.info("delete: stopping %s, deleting %d versions", stopping, len(deleted))
    return {
        "PhysicalResourceId": event.get("PhysicalResourceId") or physical_resource_id(scope.group),
        "Data": {
            "StoppingJobs": ",".join(stopping[:MAX_WAITED_JOBS]),
            "DeleteRequestedAt": datetime.now(UTC).isoformat(),
        },
    }


def _delete_complete(event: dict[str, Any]) -> dict[str, Any]:
    """Wait for stopped jobs and deleting versions (within DELETE_WAIT_SECONDS), then delete the logs.

    Waiting is a courtesy to what CloudFormation deletes next (the bucket, the group): an AWS error
    while waiting or cleaning logs is logged and the destroy goes on, never held up.
    """
    scope = _DeleteScope.from_resource_properties(event.get("ResourceProperties", {}))
    data = event.get("Data") or {}
    try:
        requested = datetime.fromisoformat(str(data.get("DeleteRequestedAt")))
    except ValueError:
        requested = datetime.fromtimestamp(0, UTC)
    overdue = _seconds_since(requested) > DELETE_WAIT_SECONDS

    stopping = [name for name in str(data.get("StoppingJobs", "")).split(",") if name]
    if stopping and _jobs_still_stopping(stopping, overdue=overdue):
        return {"IsComplete": False}
    if scope.group and not scope.retain_versions and _versions_still_deleting(scope.group, overdue=overdue):
        return {"IsComplete": False}
    if scope.log_group and scope.job_name_prefix and _log_streams_left(scope, overdue=overdue):
        return {"IsComplete": False}
    return {"IsComplete": True}


def _jobs_still_stopping(names: list[str], *, overdue: bool) -> bool:
    """Whether to keep waiting for the jobs Delete stopped (they may still upload to the bucket)."""
    sagemaker, _ = _clients()
    try:
        still_running = [
            name
            for name in names
            if (job := describe_job(sagemaker, name)) and job["TrainingJobStatus"] in RUNNING_STATUSES
        ]
    except ClientError as err:
        logger.warning("cannot tell whether %s stopped (%s); not waiting", names, err)
        return False
    if not still_running:
        return False
    if overdue:
        # Destroy goes on: the jobs are stopping and can do no harm beyond a final upload.
        logger.warning("jobs %s still stopping after %s s; not waiting longer", still_running, DELETE_WAIT_SECONDS)
        return False
    logger.info("waiting for %s to stop", still_running)
    return True


def _versions_still_deleting(group: str, *, overdue: bool) -> bool:
    """Whether to keep waiting for the group's versions to go (the group cannot be deleted before)."""
    sagemaker, _ = _clients()
    try:
        left = versions_left(sagemaker, group)
    except ClientError as err:
        logger.warning("cannot list the versions of %s (%s); not waiting", group, err)
        return False
    if not left:
        return False
    statuses = sorted({str(s.get("ModelPackageStatus", "?")) for s in left})
    if overdue:
        logger.warning(
            "%d versions of %s still listed (%s) after %s s; not waiting longer, deleting the group may fail",
            len(left),
            group,
            ", ".join(statuses),
            DELETE_WAIT_SECONDS,
        )
        return False
    logger.info("waiting for %d versions of %s to be deleted (%s)", len(left), group, ", ".join(statuses))
    return True


def _log_streams_left(scope: _DeleteScope, *, overdue: bool) -> bool:
    """Delete a batch of this project's training log streams; whether a next poll should go on."""
    sagemaker, _ = _clients()
    try:
        cleanup = delete_project_log_streams(
            _logs_client(),
            sagemaker,
            log_group=scope.log_group,
            prefix=scope.job_name_prefix,
            output_path=scope.output_path,
            limit=MAX_LOG_STREAMS_PER_POLL,
        )
    except ClientError as err:
        # Leftover log streams cost little; a destroy that fails on them would cost more.
        logger.warning("cannot delete the log streams %s* in %s (%s)", scope.job_name_prefix, scope.log_group, err)
        return False
    if cleanup.left and overdue:
        logger.warning("%d log streams of %s* left in %s", cleanup.left, scope.job_name_prefix, scope.log_group)
        return False
    return cleanup.left > 0
