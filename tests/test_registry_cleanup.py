"""The RegistryCleanup custom resource on moto: a destroy stops the project's jobs and leaves no version or job log.

The Lambda answers a real HTTP server on 127.0.0.1, as CloudFormation's pre-signed URL. The waits
and limits are driven through `training_run.delete` directly, one poll at a time. moto's jobs are
Completed at once: a test sets InProgress, lets a stopping job stop, and finishes a version's
deletion in moto's backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops_core.naming import TRAINING_LOG_GROUP
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_stacks.handlers.registry_cleanup import (
    ANSWER_RESERVE_SECONDS,
    POLL_SECONDS,
    RESOURCE_TYPE,
    clean_up,
    handler,
)
from mlops_stacks.handlers.training_run import delete as training_run_delete
from mlops_stacks.handlers.training_run.clients import TrainingRunClients, process_clients
from mlops_stacks.handlers.training_run.delete import delete, delete_complete
from tests.aws_fixtures import checked_boto3
from tests.moto_sagemaker import SLOW_DELETES, moto_stop_and_delete, set_job, start_training_job
from tests.presigned_url import PresignedUrls, presigned_urls
from tests.rollout_fixtures import GROUP, REGION, SETTINGS, register

BUCKET = "mlops-showcase-data"
OUTPUT = f"s3://{BUCKET}/models"
PREFIX = f"{SETTINGS.project_name}-"


@dataclass
class Aws:
    sagemaker: Any
    logs: Any
    cfn: PresignedUrls

    def clients(self) -> TrainingRunClients:
        return TrainingRunClients(sagemaker=self.sagemaker, logs=self.logs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), moto_stop_and_delete(), checked_boto3(), presigned_urls() as cfn:
        aws = Aws(boto3.client("sagemaker"), boto3.client("logs"), cfn)
        aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        aws.logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
        yield aws


def properties(retain: bool = False) -> dict[str, str]:
    """The resource's properties as the registry stack gives them."""
    return {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:mlops-showcase-registry-cleanup",
        "ModelPackageGroupName": GROUP,
        "JobNamePrefix": PREFIX,
        "OutputPath": OUTPUT,
        "TrainingLogGroup": TRAINING_LOG_GROUP,
        "RetainVersions": "true" if retain else "false",
    }


def event(aws: Aws, kind: str, props: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": aws.cfn.url("response"),
        "StackId": f"arn:aws:cloudformation:{REGION}:{DEFAULT_ACCOUNT_ID}:stack/mlops-showcase-registry/0a1b",
        "RequestId": "0a1b2c3d",
        "ResourceType": RESOURCE_TYPE,
        "LogicalResourceId": "RegistryCleanup0A1B2C3D",
        "PhysicalResourceId": f"{GROUP}-training-run",
        "ResourceProperties": props or properties(),
    }


def train(aws: Aws, name: str, status: str, output: str = OUTPUT, *, restarts: int = 0) -> None:
    """A training job left in `status`, with a log stream as the container leaves one (one more per restart)."""
    start_training_job(aws.sagemaker, name, bucket=BUCKET, output_path=output)
    set_job(name, status)
    now = int(datetime.now(UTC).timestamp() * 1000)
    for attempt in range(restarts + 1):
        stream = f"{name}/algo-1-{1700000000 + attempt}"
        aws.logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
        aws.logs.put_log_events(
            logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, logEvents=[{"timestamp": now, "message": "[0] auc"}]
        )


def statuses(aws: Aws) -> dict[str, str]:
    jobs = aws.sagemaker.list_training_jobs()["TrainingJobSummaries"]
    return {job["TrainingJobName"]: job["TrainingJobStatus"] for job in jobs}


def versions(aws: Aws) -> list[str]:
    listed = aws.sagemaker.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="Versioned")
    return [summary["ModelPackageArn"] for summary in listed["ModelPackageSummaryList"]]


def streams(aws: Aws) -> list[str]:
    return sorted(
        s["logStreamName"] for s in aws.logs.describe_log_streams(logGroupName=TRAINING_LOG_GROUP)["logStreams"]
    )


RUNNING = f"{PREFIX}0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
DONE = f"{PREFIX}77aa00bb11cc22dd33ee44ff55aa66bb"
OTHER_STAGE = f"{PREFIX}0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
OTHER_PROJECT = "fraud-0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
# A stream of a job SageMaker does not know (any more): not provably ours, so it stays.
UNKNOWN_JOB_STREAM = f"{PREFIX}5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e/algo-1-1700000500"


def requested(aws: Aws, props: dict[str, str] | None = None) -> dict[str, Any]:
    """The Delete done, and the event its polls see: the delete's Data added, as `clean_up` passes it."""
    delete_event = event(aws, "Delete", props)
    return {**delete_event, "Data": delete(delete_event, aws.clients())["Data"]}


def complete(aws: Aws, polled: dict[str, Any]) -> bool:
    """One poll of the clean-up: whether it is done."""
    return bool(delete_complete(polled, aws.clients())["IsComplete"])


def overdue(polled: dict[str, Any]) -> dict[str, Any]:
    """The same poll, its delete requested an hour ago: past every wait limit."""
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {**polled, "Data": {**polled["Data"], "DeleteRequestedAt": an_hour_ago}}


def version_status(arn: str, status: str) -> None:
    """Put a version into a state that only time produces in AWS."""
    sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].model_packages[arn].model_package_status = status


def test_destroy_stops_the_projects_running_job_and_leaves_no_version_or_job_log(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    train(aws, DONE, "Completed")
    train(aws, OTHER_STAGE, "InProgress", output="s3://another-stage-bucket/models")
    train(aws, OTHER_PROJECT, "InProgress")
    aws.logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=UNKNOWN_JOB_STREAM)
    for status in (APPROVED, REJECTED, PENDING_MANUAL_APPROVAL):
        register(aws.sagemaker, status)
    polls: list[dict[str, str]] = []

    def sleep(seconds: float) -> None:  # SageMaker stops the job while the handler waits
        polls.append(statuses(aws))
        set_job(RUNNING, "Stopped")

    physical_id = clean_up(event(aws, "Delete"), aws.clients(), seconds_left=lambda: 900.0, sleep=sleep)

    assert physical_id == f"{GROUP}-training-run"
    assert polls == [{RUNNING: "Stopping", DONE: "Completed", OTHER_STAGE: "InProgress", OTHER_PROJECT: "InProgress"}]
    assert versions(aws) == []
    assert streams(aws) == [
        f"{OTHER_PROJECT}/algo-1-1700000000",
        f"{OTHER_STAGE}/algo-1-1700000000",
        UNKNOWN_JOB_STREAM,
    ]


def test_retained_versions_stay_and_the_jobs_still_stop_and_lose_their_logs(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    kept = register(aws.sagemaker, APPROVED)
    clean_up(
        event(aws, "Delete", properties(retain=True)),
        aws.clients(),
        seconds_left=lambda: 900.0,
        sleep=lambda _: set_job(RUNNING, "Stopped"),
    )
    assert versions(aws) == [kept] and statuses(aws)[RUNNING] == "Stopped"
    assert streams(aws) == []


def test_the_lambda_answers_in_time_even_when_a_job_is_still_stopping(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    register(aws.sagemaker, APPROVED)
    almost_out = SimpleNamespace(
        get_remaining_time_in_millis=lambda: (ANSWER_RESERVE_SECONDS + POLL_SECONDS - 1) * 1000
    )
    handler(event(aws, "Delete"), almost_out, aws.clients())
    (response,) = aws.cfn.bodies()
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", f"{GROUP}-training-run")
    assert statuses(aws)[RUNNING] == "Stopping" and versions(aws) == []


def test_a_destroy_with_everything_already_gone_succeeds(aws: Aws) -> None:
    props = {**properties(), "ModelPackageGroupName": "never-created-group", "TrainingLogGroup": "/never/created"}
    for _ in range(2):
        handler(event(aws, "Delete", props), None, aws.clients())
    assert [body["Status"] for body in aws.cfn.bodies()] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_create_and_update_touch_nothing(aws: Aws, kind: str) -> None:
    train(aws, RUNNING, "InProgress")
    kept = register(aws.sagemaker, APPROVED)
    handler(event(aws, kind), None, aws.clients())
    (response,) = aws.cfn.bodies()
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", f"{GROUP}-training-run")
    assert statuses(aws)[RUNNING] == "InProgress" and versions(aws) == [kept]


def test_the_lambda_uses_the_clients_it_is_given_and_makes_none_of_its_own(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    process_clients.cache_clear()
    calls: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(aws.sagemaker, name)

    almost_out = SimpleNamespace(get_remaining_time_in_millis=lambda: ANSWER_RESERVE_SECONDS * 1000)
    handler(event(aws, "Delete"), almost_out, TrainingRunClients(sagemaker=Recording(), logs=aws.logs))

    assert {"get_paginator", "describe_training_job", "stop_training_job"} <= set(calls)
    assert process_clients.cache_info().currsize == 0


def test_odd_properties_never_fail_a_destroy(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    register(aws.sagemaker, APPROVED)
    odd = {**properties(), "JobNamePrefix": "not a prefix!", "RetainVersions": "yes"}

    handler(event(aws, "Delete", odd), None, aws.clients())

    (response,) = aws.cfn.bodies()
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", f"{GROUP}-training-run")
    # An unusable prefix turns the job step off; an unreadable flag deletes, as by default.
    assert statuses(aws)[RUNNING] == "InProgress" and versions(aws) == []


# --- waits and their limits ----------------------------------------------------------------------


def test_a_job_that_will_not_leave_stopping_is_waited_for_only_until_the_limit(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    polled = requested(aws)

    assert polled["Data"]["StoppingJobs"] == RUNNING
    assert not complete(aws, polled)
    assert complete(aws, overdue(polled))
    assert statuses(aws)[RUNNING] == "Stopping"


def test_a_version_still_deleting_is_waited_for(aws: Aws) -> None:
    arn = register(aws.sagemaker, APPROVED)
    SLOW_DELETES.add(arn)
    polled = requested(aws)

    assert aws.sagemaker.describe_model_package(ModelPackageName=arn)["ModelPackageStatus"] == "Deleting"
    assert not complete(aws, polled)
    assert not complete(aws, polled)
    del sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].model_packages[arn]  # SageMaker finishes the deletion
    assert complete(aws, polled)


def test_a_version_deleting_past_the_limit_does_not_hold_up_the_destroy(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    SLOW_DELETES.add(register(aws.sagemaker, APPROVED))

    assert complete(aws, overdue(requested(aws)))
    assert f"1 versions of {GROUP} still listed (Deleting)" in caplog.text
    assert len(versions(aws)) == 1


def test_retained_versions_are_not_waited_for_even_while_one_is_deleting(aws: Aws) -> None:
    version_status(register(aws.sagemaker, APPROVED), "Deleting")

    assert complete(aws, requested(aws, properties(retain=True)))


# --- training log streams ------------------------------------------------------------------------


def test_without_the_log_group_property_the_logs_stay(aws: Aws) -> None:
    train(aws, DONE, "Completed")
    props = {key: value for key, value in properties().items() if key != "TrainingLogGroup"}

    assert complete(aws, requested(aws, props))
    assert streams(aws) == [f"{DONE}/algo-1-1700000000"]


def test_a_stopping_jobs_log_stream_is_deleted_only_once_the_job_has_stopped(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    polled = requested(aws)

    assert not complete(aws, polled)
    assert streams(aws) == [f"{RUNNING}/algo-1-1700000000"]  # the job still writes its last lines
    set_job(RUNNING, "Stopped")
    assert complete(aws, polled)
    assert streams(aws) == []


def test_many_log_streams_are_deleted_in_batches_over_several_polls(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # More than one page of DescribeLogStreams (50): a job restarted on spot capacity has many streams.
    train(aws, DONE, "Completed", restarts=59)
    train(aws, OTHER_PROJECT, "Completed")
    monkeypatch.setattr(training_run_delete, "MAX_LOG_STREAMS_PER_POLL", 25)
    polled = requested(aws)

    assert not complete(aws, polled)
    assert len(streams(aws)) == 36
    assert not complete(aws, polled)
    assert complete(aws, polled)
    assert streams(aws) == [f"{OTHER_PROJECT}/algo-1-1700000000"]


def test_log_streams_left_past_the_wait_limit_do_not_hold_up_the_destroy(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    train(aws, DONE, "Completed", restarts=2)
    monkeypatch.setattr(training_run_delete, "MAX_LOG_STREAMS_PER_POLL", 2)

    assert complete(aws, overdue(requested(aws)))
    assert len(streams(aws)) == 1
    assert f"1 log streams of {PREFIX}* left in {TRAINING_LOG_GROUP}" in caplog.text
