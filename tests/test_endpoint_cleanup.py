"""The EndpointCleanup custom resource on moto: a destroy leaves no endpoint, config or model the pipeline made.

The endpoint stack holds none of them (the deployment pipeline is their only writer), so this
resource is what removes them. It answers a real HTTP server on 127.0.0.1, as CloudFormation's
pre-signed URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops_core.quality_gate import APPROVED, REJECTED
from mlops_core.settings import Settings
from mlops_stacks.handlers.endpoint_cleanup import RESOURCE_TYPE, handler
from mlops_stacks.handlers.rollout import ServingSpec, delete_deployed
from mlops_stacks.handlers.rollout.serving import ENDPOINT_DELETE_POLL_SECONDS
from tests.aws_fixtures import checked_boto3
from tests.presigned_url import PresignedUrls, presigned_urls
from tests.rollout_fixtures import GROUP, REGION, ROLE, SPEC, names, register, serve, set_endpoint_status


@dataclass
class Aws:
    sagemaker: Any
    cfn: PresignedUrls


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key, value in SPEC.as_env().items():
        monkeypatch.setenv(key, value)
    with mock_aws(), checked_boto3(), presigned_urls() as cfn:
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield Aws(sagemaker, cfn)


def request(aws: Aws, kind: str) -> dict[str, Any]:
    """CloudFormation's request to the resource; the response the handler PUT."""
    handler(
        {
            "RequestType": kind,
            "ResponseURL": aws.cfn.url("response"),
            "StackId": f"arn:aws:cloudformation:{REGION}:{DEFAULT_ACCOUNT_ID}:stack/mlops-showcase-endpoint/0a1b",
            "RequestId": "0a1b2c3d",
            "ResourceType": RESOURCE_TYPE,
            "LogicalResourceId": "EndpointCleanup0A1B2C3D",
            "PhysicalResourceId": SPEC.endpoint,
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cleanup"},
        }
    )
    return aws.cfn.received[-1].json()


def test_destroy_deletes_the_endpoint_and_every_config_and_model_the_pipeline_made(aws: Aws) -> None:
    for status in (APPROVED, APPROVED, REJECTED):  # two rollouts, and the model of a reverted one
        serve(aws.sagemaker, SPEC, register(aws.sagemaker, status))
    bigger = ServingSpec.from_settings(Settings(serverless_memory_size=4096), ROLE)
    serve(aws.sagemaker, bigger, register(aws.sagemaker, APPROVED))  # a settings change: same project
    other = ServingSpec.from_settings(Settings(project_name="other-project"), ROLE)
    foreign = serve(aws.sagemaker, other, register(aws.sagemaker, APPROVED))
    assert len(names(aws.sagemaker)[0]) == 5

    response = request(aws, "Delete")
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", SPEC.endpoint)
    assert [e["EndpointName"] for e in aws.sagemaker.list_endpoints()["Endpoints"]] == [other.endpoint]
    assert names(aws.sagemaker) == ([foreign], [foreign])


def test_a_second_destroy_or_one_with_nothing_deployed_succeeds(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    assert request(aws, "Delete")["Status"] == "SUCCESS"
    assert request(aws, "Delete")["Status"] == "SUCCESS"
    assert names(aws.sagemaker) == ([], []) and aws.sagemaker.list_endpoints()["Endpoints"] == []


def test_an_endpoint_already_deleting_is_waited_for_not_deleted_again(aws: Aws) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    set_endpoint_status(SPEC, "Deleting")
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # SageMaker finishes the deletion while the handler waits
        waits.append(seconds)
        sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints.pop(SPEC.endpoint)

    deleted = delete_deployed(aws.sagemaker, SPEC, sleep=sleep)
    assert waits == [ENDPOINT_DELETE_POLL_SECONDS]
    assert deleted == [f"endpoint-config/{serving}", f"model/{serving}"]


def test_an_endpoint_that_outlasts_the_wait_does_not_hold_the_destroy_up(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    set_endpoint_status(SPEC, "Deleting")
    waits: list[float] = []
    delete_deployed(aws.sagemaker, SPEC, sleep=waits.append, wait_seconds=30)
    assert sum(waits) == 30


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_create_and_update_touch_nothing(aws: Aws, kind: str) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    response = request(aws, kind)
    assert (response["Status"], response["PhysicalResourceId"]) == ("SUCCESS", SPEC.endpoint)
    assert names(aws.sagemaker) == ([serving], [serving])
    assert len(aws.sagemaker.list_endpoints()["Endpoints"]) == 1


def test_a_lambda_without_its_settings_still_answers_cloudformation(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXECUTION_ROLE_ARN")
    response = request(aws, "Delete")
    assert response["Status"] == "FAILED"
    assert response["Reason"] == "ValueError: environment lacks EXECUTION_ROLE_ARN"
