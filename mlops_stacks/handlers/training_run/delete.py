"""Delete: stop this project's running jobs, delete the group's versions, then the jobs' log streams.

"This project's jobs" are the in-progress jobs whose name starts with `JobNamePrefix` and that
write to `OutputPath` (our bucket): the output path keeps another stage's jobs with the same
prefix out. The versions stay when `RetainVersions` is "true". `delete_complete` then waits,
within DELETE_WAIT_SECONDS, for the jobs to leave Stopping and for the versions to leave Deleting
(DeleteModelPackage is asynchronous, and DeleteModelPackageGroup fails while a version is listed).
Delete never fails on something already gone, and never holds a destroy up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from mlops_stacks.handlers.training_run.errors import PropertyError
from mlops_stacks.handlers.training_run.jobs import (
    RUNNING_STATUSES,
    describe_job,
    project_jobs_in_progress,
    seconds_since,
    stop_job,
)
from mlops_stacks.handlers.training_run.log_streams import delete_project_log_streams
from mlops_stacks.handlers.training_run.properties import (
    JOB_NAME_PATTERN,
    flag_property,
    physical_resource_id,
)
from mlops_stacks.handlers.training_run.versions import delete_model_versions, versions_left

logger = logging.getLogger(__name__)

# How long Delete waits for stopped jobs to leave Stopping (SIGTERM gives them 120 s) and for
# versions to leave Deleting before letting the destroy continue anyway.
DELETE_WAIT_SECONDS = 600
# Delete waits for at most this many stopped jobs (their names travel in the response's Data).
MAX_WAITED_JOBS = 25
# Log streams deleted per poll: keeps one isComplete call well inside its 2-minute timeout
# (DeleteLogStream is throttled at a few per second); the next poll deletes the rest.
MAX_LOG_STREAMS_PER_POLL = 200


@dataclass(frozen=True)
class _DeleteScope:
    """What a Delete cleans up, read leniently: a delete must not fail because a property is odd."""

    job_name_prefix: str
    group: str
    output_path: str
    retain_versions: bool
    log_group: str

    @classmethod
    def from_resource_properties(cls, raw: Mapping[str, Any]) -> _DeleteScope:
        """Read the properties Delete needs; an unusable one turns its cleanup step off, never fails."""
        prefix = str(raw.get("JobNamePrefix") or "")
        try:
            retain = flag_property(raw, "RetainVersions", default=False)
        except PropertyError as err:
            # Create validated it; an odd value here means an old template: delete as by default.
            logger.warning("%s; deleting the versions", err)
            retain = False
        return cls(
            job_name_prefix=prefix if JOB_NAME_PATTERN.match(prefix.rstrip("-")) else "",
            group=str(raw.get("ModelPackageGroupName") or ""),
            output_path=str(raw.get("OutputPath") or "").rstrip("/"),
            retain_versions=retain,
            log_group=str(raw.get("TrainingLogGroup") or ""),
        )


def delete(event: dict[str, Any], clients: TrainingRunClients) -> dict[str, Any]:
    """Stop this project's running jobs and delete the group's versions, skipping what is gone."""
    scope = _DeleteScope.from_resource_properties(event.get("ResourceProperties", {}))
    sagemaker = clients.sagemaker

    running: list[str] = []
    if scope.job_name_prefix and scope.output_path:
        running = project_jobs_in_progress(sagemaker, scope.job_name_prefix, scope.output_path)
    stopping = [name for name in running if stop_job(sagemaker, name)]
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


def delete_complete(event: dict[str, Any], clients: TrainingRunClients) -> dict[str, Any]:
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
    overdue = seconds_since(requested) > DELETE_WAIT_SECONDS

    stopping = [name for name in str(data.get("StoppingJobs", "")).split(",") if name]
    if stopping and _jobs_still_stopping(clients.sagemaker, stopping, overdue=overdue):
        return {"IsComplete": False}
    if (
        scope.group
        and not scope.retain_versions
        and _versions_still_deleting(clients.sagemaker, scope.group, overdue=overdue)
    ):
        return {"IsComplete": False}
    if scope.log_group and scope.job_name_prefix and _log_streams_left(clients, scope, overdue=overdue):
        return {"IsComplete": False}
    return {"IsComplete": True}


def _jobs_still_stopping(sagemaker: Any, names: list[str], *, overdue: bool) -> bool:
    """Whether to keep waiting for the jobs Delete stopped (they may still upload to the bucket)."""
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


def _versions_still_deleting(sagemaker: Any, group: str, *, overdue: bool) -> bool:
    """Whether to keep waiting for the group's versions to go (the group cannot be deleted before)."""
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


def _log_streams_left(clients: TrainingRunClients, scope: _DeleteScope, *, overdue: bool) -> bool:
    """Delete a batch of this project's training log streams; whether a next poll should go on."""
    try:
        cleanup = delete_project_log_streams(
            clients.logs,
            clients.sagemaker,
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
