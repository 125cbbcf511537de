"""The RegistryCleanup custom resource on moto: a destroy stops the project's jobs and leaves no version or job log.

It answers a real HTTP server on 127.0.0.1, as CloudFormation's pre-signed URL. moto's jobs are
Completed at once: a test sets InProgress, and lets a stopping job stop, in moto's backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from mlops_core.naming import TRAINING_LOG_GROUP
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_stacks.handlers.registry_cleanup import (
    ANSWER_RESERVE_SECONDS,
    POLL_SECONDS,
    RESOURCE_TYPE,
    clean_up,
    handler,
)
from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from tests.aws_fixtures import checked_boto3
from tests.moto_sagemaker import moto_stop_and_delete, set_job, start_training_job
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


def train(aws: Aws, name: str, status: str, output: str = OUTPUT) -> None:
    """A training job left in `status`, with a log stream as the container leaves one."""
    start_training_job(aws.sagemaker, name, bucket=BUCKET, output_path=output)
    set_job(name, status)
    stream = f"{name}/algo-1-1700000000"
    aws.logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
    now = int(datetime.now(UTC).timestamp() * 1000)
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


def test_destroy_stops_the_projects_running_job_and_leaves_no_version_or_job_log(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    train(aws, DONE, "Completed")
    train(aws, OTHER_STAGE, "InProgress", output="s3://another-stage-bucket/models")
    train(aws, OTHER_PROJECT, "InProgress")
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
    assert streams(aws) == [f"{OTHER_PROJECT}/algo-1-1700000000", f"{OTHER_STAGE}/algo-1-1700000000"]


def test_retained_versions_stay_and_the_jobs_still_stop(aws: Aws) -> None:
    train(aws, RUNNING, "InProgress")
    kept = register(aws.sagemaker, APPROVED)
    clean_up(
        event(aws, "Delete", properties(retain=True)),
        aws.clients(),
        seconds_left=lambda: 900.0,
        sleep=lambda _: set_job(RUNNING, "Stopped"),
    )
    assert versions(aws) == [kept] and statuses(aws)[RUNNING] == "Stopped"


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
