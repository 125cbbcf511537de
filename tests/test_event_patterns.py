"""The patterns that start the pipelines, matched by moto's EventBridge (not by our code).

S3's "Object Created" comes from moto's own S3 (a bucket with EventBridge notifications on); the
SageMaker and CloudWatch events, which moto's services do not send, are put in their documented
shape (`local.aws_events`). Each rule's target is an SQS queue, so a match can be read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.aws_events import alarm_state_change, model_package_state_change
from mlops_core import event_patterns
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_core.settings import Settings
from monitoring.alarm_rules import drift_alarm_name
from tests.aws_fixtures import checked_boto3

REGION = "us-east-1"
SETTINGS = Settings()
BUCKET = "mlops-showcase-data-123456789012-us-east-1"
GROUP = SETTINGS.model_package_group_name
DRIFT_ALARM = drift_alarm_name(SETTINGS)
RULES = {
    "new-data": event_patterns.new_labelled_data(BUCKET, SETTINGS.labelled_data_prefix),
    "approval": event_patterns.approval_decided(GROUP),
    "drift": event_patterns.drift_alarm_fired(DRIFT_ALARM),
}


class Bus:
    """moto's default event bus with one rule per pattern, each delivering to its own queue."""

    def __init__(self) -> None:
        self.events, self.sqs, self.s3 = (boto3.client(n, region_name=REGION) for n in ("events", "sqs", "s3"))
        self.queues = {}
        for name, pattern in RULES.items():
            url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[name] = url

    def matched(self) -> dict[str, list[dict[str, Any]]]:
        """Which rules matched since the last call, with the events' details."""
        found = {}
        for name, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                found[name] = [json.loads(m["Body"])["detail"] for m in messages]
        return found


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), checked_boto3():
        yield Bus()


def test_the_ready_marker_under_the_labelled_prefix_starts_a_run_and_the_csvs_do_not(bus: Bus) -> None:
    bus.s3.create_bucket(Bucket=BUCKET)
    bus.s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    bus.s3.put_object(Bucket=BUCKET, Key="labelled/train/batch-2.csv", Body=b"a,b\n1,0\n")
    bus.s3.put_object(Bucket=BUCKET, Key="labelled/validation/batch-2.csv", Body=b"a,b\n1,0\n")
    bus.s3.put_object(Bucket=BUCKET, Key="data/_ready", Body=b"")
    assert bus.matched() == {}
    bus.s3.put_object(Bucket=BUCKET, Key=event_patterns.ready_marker_key("labelled"), Body=b"")
    (detail,) = bus.matched()["new-data"]
    assert (detail["bucket"]["name"], detail["object"]["key"]) == (BUCKET, "labelled/_ready")


def test_another_buckets_marker_starts_nothing(bus: Bus) -> None:
    other = "someone-elses-bucket"
    bus.s3.create_bucket(Bucket=other)
    bus.s3.put_bucket_notification_configuration(
        Bucket=other, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    bus.s3.put_object(Bucket=other, Key="labelled/_ready", Body=b"")
    assert bus.matched() == {}


def package(status: str, group: str = GROUP, version: int = 2) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{group}/{version}"
    return {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "ModelApprovalStatus": status,
    }


@pytest.mark.parametrize(("status", "starts"), [(APPROVED, True), (REJECTED, True), (PENDING_MANUAL_APPROVAL, False)])
def test_a_decided_version_of_our_group_starts_a_deployment_and_a_pending_one_does_not(
    bus: Bus, status: str, starts: bool
) -> None:
    bus.events.put_events(Entries=[model_package_state_change(package(status))])
    matched = bus.matched()
    assert ("approval" in matched) == starts
    if starts:
        assert matched["approval"][0]["ModelApprovalStatus"] == status


def test_another_groups_approval_starts_nothing(bus: Bus) -> None:
    bus.events.put_events(Entries=[model_package_state_change(package(APPROVED, group="someone-elses-models"))])
    assert bus.matched() == {}


@pytest.mark.parametrize(("name", "state", "starts"), [(DRIFT_ALARM, "ALARM", True), (DRIFT_ALARM, "OK", False)])
def test_the_drift_alarm_going_to_alarm_starts_a_run(bus: Bus, name: str, state: str, starts: bool) -> None:
    arn = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"
    bus.events.put_events(Entries=[alarm_state_change(arn, name, state, "OK" if state == "ALARM" else "ALARM")])
    assert ("drift" in bus.matched()) == starts


def test_another_alarm_going_to_alarm_starts_nothing(bus: Bus) -> None:
    name = SETTINGS.name("LatencyAlarm")
    arn = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"
    bus.events.put_events(Entries=[alarm_state_change(arn, name, "ALARM", "OK")])
    assert bus.matched() == {}
