"""The job's log streams in the shared training log group: why a job failed, and the clean-up on destroy.

The XGBoost image's trainer overwrites the job's failure file with `ExecuteUserScriptError:
Command "..."`, so SageMaker's FailureReason never carries train.py's own reason; train.py also
prints it as a marked line (`model_code.failure_reason`), which the container ships to the job's
log stream `<job>/algo-1-<epoch>` in `/aws/sagemaker/TrainingJobs`. `job_log_tail` finds that
line, and the caller falls back to SageMaker's FailureReason with the last lines of the log.
On destroy, `delete_project_log_streams` removes the streams of this deployment's jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlops_core.aws import is_not_found
from mlops_stacks.handlers.training_run.jobs import describe_job, job_output_path
from mlops_stacks.handlers.training_run.properties import JOB_NAME_PATTERN
from model_code.failure_reason import find_reason

logger = logging.getLogger(__name__)

# GetLogEvents from the end of the stream: the marked line is among the last lines the job printed.
TAIL_EVENTS = 200
LAST_LINES = 5
# SageMaker's host numbering: algo-1 is the first (and with one instance, the only) host.
_FIRST_HOST = "/algo-1-"


@dataclass(frozen=True)
class JobLogTail:
    """The last lines of a job's log stream; `stream` is empty when none could be read, and `error` says why."""

    stream: str = ""
    lines: tuple[str, ...] = ()
    error: str = ""

    @property
    def reason(self) -> str | None:
        """train.py's own failure reason, when the tail holds its marked line."""
        return find_reason(self.lines)

    def last_lines(self, count: int = LAST_LINES) -> list[str]:
        """The last non-empty lines, each on one line."""
        lines = [" ".join(line.split()) for line in self.lines]
        return [line for line in lines if line][-count:]


def newest_algo_1_stream(logs: Any, log_group: str, job_name: str) -> str | None:
    """The job's stream of host algo-1 with the latest start (a restarted job has several), if any.

    Ordered by name under the job's prefix: CloudWatch Logs cannot order by event time and
    filter by prefix in one DescribeLogStreams call.
    """
    newest: tuple[int, str] | None = None
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=log_group, logStreamNamePrefix=f"{job_name}/"
    )
    for page in pages:
        for stream in page.get("logStreams", []):
            name = stream["logStreamName"]
            head, host, started = name.rpartition(_FIRST_HOST)
            if head == job_name and host and started.isdigit() and (newest is None or int(started) > newest[0]):
                newest = (int(started), name)
    return newest[1] if newest else None


def job_log_tail(logs: Any, log_group: str, job_name: str, *, limit: int = TAIL_EVENTS) -> JobLogTail:
    """The last `limit` lines of the job's algo-1 stream; an AWS error or a missing stream gives an empty tail."""
    missing = JobLogTail(error=f"no log stream {job_name}/algo-1-* in {log_group}")
    try:
        stream = newest_algo_1_stream(logs, log_group, job_name)
        if stream is None:
            return missing
        events = logs.get_log_events(
            logGroupName=log_group, logStreamName=stream, limit=limit, startFromHead=False
        ).get("events", [])
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            return missing
        # The failure must still be reported: without the log, SageMaker's reason is what there is.
        logger.warning("cannot read the log of training job %s: %s", job_name, err)
        return JobLogTail(error=f"its log could not be read: {code}")
    except BotoCoreError as err:
        logger.warning("cannot read the log of training job %s: %s", job_name, err)
        return JobLogTail(error=f"its log could not be read: {type(err).__name__}")
    return JobLogTail(stream=stream, lines=tuple(str(event.get("message", "")) for event in events))


def sagemaker_reason(job: Mapping[str, Any]) -> str:
    """SageMaker's FailureReason of a described job, or a note that it gave none."""
    return str(job.get("FailureReason") or "SageMaker gave no reason")


@dataclass(frozen=True)
class LogCleanup:
    """What one pass over the training log group did: streams deleted, ours still left, others kept."""

    deleted: list[str]
    left: int
    kept: int


def training_log_streams(logs: Any, log_group: str, prefix: str) -> list[str]:
    """Names of the streams in `log_group` that start with `prefix`; none when the group does not exist."""
    names: list[str] = []
    pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=log_group, logStreamNamePrefix=prefix)
    try:
        for page in pages:
            names.extend(stream["logStreamName"] for stream in page.get("logStreams", []))
    except ClientError as err:
        if not is_not_found(err):
            raise
    return names


def delete_project_log_streams(
    logs: Any,
    sagemaker: Any,
    *,
    log_group: str,
    prefix: str,
    output_path: str,
    limit: int,
) -> LogCleanup:
    """Delete up to `limit` log streams of this deployment's training jobs from the shared log group.

    SageMaker names a job's streams `<job-name>/algo-1-<epoch>`. A stream counts as ours when its
    job's name starts with `prefix` and the job writes to `output_path`, the same test that tells
    this deployment's jobs from another stage's; a stream whose job cannot be described is kept.
    Streams are listed in full before any is deleted, so deleting cannot upset the pagination.
    """
    output_path = output_path.rstrip("/")
    ours: dict[str, bool] = {}
    streams: list[str] = []
    kept = 0
    for name in training_log_streams(logs, log_group, prefix):
        job_name = name.partition("/")[0]
        if job_name not in ours:
            job = describe_job(sagemaker, job_name) if JOB_NAME_PATTERN.match(job_name) else None
            ours[job_name] = bool(output_path) and job is not None and job_output_path(job) == output_path
        if ours[job_name]:
            streams.append(name)
        else:
            kept += 1
    deleted = []
    for name in streams[:limit]:
        try:
            logs.delete_log_stream(logGroupName=log_group, logStreamName=name)
        except ClientError as err:
            if not is_not_found(err):
                raise
            continue
        deleted.append(name)
    logger.info("deleted %d log streams of %s* from %s, kept %d", len(deleted), prefix, log_group, kept)
    return LogCleanup(deleted=deleted, left=max(len(streams) - limit, 0), kept=kept)
