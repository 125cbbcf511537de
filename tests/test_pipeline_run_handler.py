"""The PipelineRun custom resource on moto's Step Functions, answering a real HTTP server on 127.0.0.1.

moto runs the executions (`execute_state_machine`), so a reused execution name behaves as botocore
documents StartExecution: "If the execution is closed or if the input is different, it returns a
400 ExecutionAlreadyExists error." The state machine only waits, so its execution stays RUNNING
until a test stops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from mlops_stacks.handlers.pipeline_run import RESOURCE_TYPE, execution_name, handler
from tests.aws_fixtures import checked_boto3
from tests.presigned_url import PresignedUrls, presigned_urls

REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{DEFAULT_ACCOUNT_ID}:stack/mlops-showcase-registry/0a1b2c3d"
WAITING = {"StartAt": "Train", "States": {"Train": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@dataclass
class Aws:
    sfn: Any
    machine: str
    cfn: PresignedUrls


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    config = {"stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config), checked_boto3(), presigned_urls() as cfn:  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="mlops-showcase-training",
            definition=json.dumps(WAITING),
            roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/mlops-showcase-training",
        )["stateMachineArn"]
        yield Aws(sfn, machine, cfn)
        # Executions run in threads of their own: none outlives the test.
        if sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])


def properties(aws: Aws, run_id: str = "0a1b2c3d4e5f", handle: str = "handle-1", **extra: Any) -> dict[str, Any]:
    """The resource's properties as the template gives them (CloudFormation passes strings)."""
    return {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:mlops-showcase-training-run",
        "StateMachineArn": aws.machine,
        "RunId": run_id,
        "WaitHandle": f"https://cloudformation-waitcondition-{REGION}.s3.amazonaws.com/{handle}?X-Amz-Signature=1",
        "Input": json.dumps({"data": {"train": "s3://bucket/data/train/"}}),
        **extra,
    }


def cfn_event(aws: Aws, kind: str, props: dict[str, Any], physical_id: str | None = None) -> dict[str, Any]:
    """CloudFormation's request to the resource, answered to the recording server."""
    event: dict[str, Any] = {
        "RequestType": kind,
        "ResponseURL": aws.cfn.url(f"response-{len(aws.cfn.received)}"),
        "StackId": STACK_ID,
        "RequestId": f"request-{len(aws.cfn.received)}",
        "ResourceType": RESOURCE_TYPE,
        "LogicalResourceId": "TrainingRunResource0A1B2C3D",
        "ResourceProperties": props,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def request(aws: Aws, kind: str, props: dict[str, Any], physical_id: str | None = None) -> dict[str, Any]:
    """Send CloudFormation's request to the handler; return the response it PUT."""
    handler(cfn_event(aws, kind, props, physical_id))
    return aws.cfn.received[-1].json()


def executions(aws: Aws) -> list[dict[str, Any]]:
    return aws.sfn.list_executions(stateMachineArn=aws.machine)["executions"]


def status(aws: Aws, arn: str) -> str:
    return aws.sfn.describe_execution(executionArn=arn)["status"]


def test_create_starts_one_run_named_for_its_run_and_handle_with_both_in_its_input(aws: Aws) -> None:
    props = properties(aws)
    response = request(aws, "Create", props)
    assert response["Status"] == "SUCCESS", response["Reason"]
    (execution,) = executions(aws)
    assert execution["name"] == execution_name("0a1b2c3d4e5f", props["WaitHandle"])
    assert execution["name"].startswith("0a1b2c3d4e5f-") and len(execution["name"]) <= 80
    assert response["PhysicalResourceId"] == execution["executionArn"]
    run_input = json.loads(aws.sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert run_input == {
        "data": {"train": "s3://bucket/data/train/"},
        "run_id": "0a1b2c3d4e5f",
        "wait_handle": props["WaitHandle"],
    }
    assert status(aws, execution["executionArn"]) == "RUNNING"


def test_a_rollback_replaying_the_old_properties_starts_nothing_and_keeps_the_old_id(aws: Aws) -> None:
    old = properties(aws)
    first = request(aws, "Create", old)["PhysicalResourceId"]
    aws.sfn.stop_execution(executionArn=first)  # the old run ended long ago
    new = request(aws, "Update", properties(aws, run_id="77aa00bb11cc", handle="handle-2"), first)
    assert new["Status"] == "SUCCESS" and new["PhysicalResourceId"] != first
    replayed = request(aws, "Update", old, new["PhysicalResourceId"])
    assert (replayed["Status"], replayed["PhysicalResourceId"]) == ("SUCCESS", first)
    assert len(executions(aws)) == 2
    assert status(aws, first) == "ABORTED"


def test_a_retried_create_while_the_run_goes_on_starts_no_second_run(aws: Aws) -> None:
    first = request(aws, "Create", properties(aws))
    again = request(aws, "Create", properties(aws))
    assert again["Status"] == "SUCCESS" and again["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert len(executions(aws)) == 1


def test_a_new_handle_for_the_same_run_id_starts_a_new_run(aws: Aws) -> None:
    """A stack created again after a destroy gets new handles, so its run starts anew."""
    first = request(aws, "Create", properties(aws))["PhysicalResourceId"]
    again = request(aws, "Create", properties(aws, handle="handle-after-destroy"))["PhysicalResourceId"]
    assert again != first and len(executions(aws)) == 2


def test_delete_stops_a_running_run(aws: Aws) -> None:
    arn = request(aws, "Create", properties(aws))["PhysicalResourceId"]
    response = request(aws, "Delete", properties(aws), arn)
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", arn)
    assert status(aws, arn) == "ABORTED"


def test_delete_of_an_ended_or_unknown_run_or_of_a_failed_create_succeeds_and_changes_nothing(aws: Aws) -> None:
    arn = request(aws, "Create", properties(aws))["PhysicalResourceId"]
    aws.sfn.stop_execution(executionArn=arn, error="Done")
    assert request(aws, "Delete", properties(aws), arn)["Status"] == "SUCCESS"
    unknown = f"{aws.machine.replace(':stateMachine:', ':execution:')}:never-started"
    assert request(aws, "Delete", properties(aws), unknown)["Status"] == "SUCCESS"
    failed_create = request(aws, "Delete", properties(aws), "TrainingRunResource0A1B2C3D")
    assert (failed_create["Status"], failed_create["PhysicalResourceId"]) == ("SUCCESS", "TrainingRunResource0A1B2C3D")
    aws.sfn.delete_state_machine(stateMachineArn=aws.machine)
    assert request(aws, "Delete", properties(aws), arn)["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"RunId": "run id with spaces"}, "resource property `RunId` must be 1-60 letters, digits, - or _"),
        ({"RunId": "r" * 61}, "resource property `RunId` must be 1-60"),
        ({"Input": "{not json"}, "resource property `Input` is not JSON"),
        ({"Input": "[1, 2]"}, "resource property `Input` must be a JSON object"),
        ({"WaitHandle": ""}, "resource property `WaitHandle` is required"),
    ],
)
def test_a_bad_property_fails_the_deploy_naming_it_and_starts_nothing(
    aws: Aws, override: dict[str, str], message: str
) -> None:
    response = request(aws, "Create", {**properties(aws), **override})
    assert response["Status"] == "FAILED"
    assert message in response["Reason"] and "\n" not in response["Reason"]
    assert executions(aws) == []


def test_a_stop_that_fails_does_not_hold_a_destroy_up(aws: Aws) -> None:
    arn = request(aws, "Create", properties(aws))["PhysicalResourceId"]
    denied = botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    with Stubber(denied) as stub:
        stub.add_response("describe_execution", described(aws, arn), {"executionArn": arn})
        stub.add_client_error(
            "stop_execution",
            "AccessDeniedException",
            "not authorized to perform: states:StopExecution",
            expected_params={
                "executionArn": arn,
                "error": "DeployCancelled",
                "cause": "its CloudFormation resource was deleted",
            },
        )
        handler(cfn_event(aws, "Delete", properties(aws), arn), None, denied)
        stub.assert_no_pending_responses()
    assert aws.cfn.received[-1].json()["Status"] == "SUCCESS"


def described(aws: Aws, arn: str) -> dict[str, Any]:
    """DescribeExecution's answer, as moto gives it (the Stubber checks it against the API model)."""
    answer = aws.sfn.describe_execution(executionArn=arn)
    answer.pop("ResponseMetadata")
    return answer
