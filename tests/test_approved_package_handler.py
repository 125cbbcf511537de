"""The endpoint stack's lookup of the approved version, against moto and a real response server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import boto3
import pytest
from moto import mock_aws

from mlops_stacks.handlers.approved_package import RESOURCE_TYPE, handler
from tests.aws_fixtures import checked_boto3

GROUP = "mlops-showcase-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        _Recorder.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def response_url():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sagemaker(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(), checked_boto3():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


def _register(sagemaker, job: str, status: str) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://bucket/models/{job}/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"training_job": job},
    )["ModelPackageArn"]


def _event(url: str, request: str, job: str, physical_id: str | None = None) -> dict:
    event = {
        "RequestType": request,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mlops-showcase-endpoint/1",
        "RequestId": f"request-{request}-{job}",
        "LogicalResourceId": "ApprovedModelPackage",
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {"ModelPackageGroupName": GROUP, "TrainingJobName": job, "Release": "r1"},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def _answer(event: dict) -> dict:
    (body,) = [b for b in _Recorder.bodies if b["RequestId"] == event["RequestId"]]
    return body


def test_create_answers_the_approved_version_of_the_named_job(sagemaker, response_url):
    _register(sagemaker, "mlops-showcase-aaa", "Approved")
    wanted = _register(sagemaker, "mlops-showcase-bbb", "Approved")
    _register(sagemaker, "mlops-showcase-ccc", "Approved")
    event = _event(response_url, "Create", "mlops-showcase-bbb")

    handler(event, None, client=sagemaker)

    answer = _answer(event)
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == wanted
    assert answer["Data"] == {
        "ModelPackageArn": wanted,
        "ModelDataUrl": "s3://bucket/models/mlops-showcase-bbb/output/model.tar.gz",
    }


def test_a_rejected_version_of_the_job_is_never_served(sagemaker, response_url):
    _register(sagemaker, "mlops-showcase-ddd", "Rejected")
    event = _event(response_url, "Update", "mlops-showcase-ddd", physical_id="arn:old")

    handler(event, None, client=sagemaker)

    answer = _answer(event)
    assert answer["Status"] == "FAILED"
    assert "no Approved version trained by job mlops-showcase-ddd" in answer["Reason"]
    assert answer["PhysicalResourceId"] == "arn:old"


def test_delete_does_nothing_and_succeeds(sagemaker, response_url):
    event = _event(response_url, "Delete", "mlops-showcase-eee", physical_id="arn:kept")

    handler(event, None, client=sagemaker)

    assert _answer(event) == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "arn:kept",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": "ApprovedModelPackage",
    }
