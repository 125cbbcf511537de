"""The bucket-objects custom resource handler, answering a real HTTP server as CloudFormation would see it.

moto stands in for S3. The ResponseURL is a real stdlib HTTP server on 127.0.0.1 that records every
PUT, so each test asserts the exact body CloudFormation would receive.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.models import MockAWS

from local.request_checks import RequestChecker
from mlops_stacks.handlers.bucket_objects import EMPTY_BUCKET, TRAINING_DATA, handler
from mlops_stacks.handlers.cfn_response import MAX_REASON_CHARS, MAX_RESPONSE_BYTES
from tests.aws_fixtures import checked_boto3

REGION = "us-east-1"
ASSETS = "cdk-hnb659fds-assets-123456789012-us-east-1"
DATA = "churn-data-123456789012"
LOGS = "churn-access-logs-123456789012"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/churn-data/5b6c3c30-4a1e-11ef-9f52-0a1b2c3d4e5f"
SOURCE_FILES = {
    "3f2a9c1d.csv": b"tenure,monthly_charges,churn\n12,70.35,1\n40,20.10,0\n",
    "77aa00bb.csv": b"tenure,monthly_charges,churn\n3,99.99,1\n",
    "0c0ffee0.json": json.dumps({"columns": ["tenure", "monthly_charges"], "label": "churn"}).encode(),
}
COPIES = [
    {"source": f"{ASSETS}/3f2a9c1d.csv", "key": "train/part-0.csv"},
    {"source": f"{ASSETS}/77aa00bb.csv", "key": "validation/part-0.csv"},
    {"source": f"{ASSETS}/0c0ffee0.json", "key": "schema/features.json"},
]


# --- CloudFormation's side: a pre-signed URL that records what it is sent ----------------------


@dataclass
class Received:
    """One PUT as the server saw it."""

    method: str
    path: str
    content_type: str | None
    body: bytes


@dataclass
class ResponseEndpoint:
    """The recording server; paths under /refused answer 403 as an expired pre-signed URL would."""

    base: str
    received: list[Received] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0f1e2d"


class _Recorder(BaseHTTPRequestHandler):
    endpoint: ResponseEndpoint

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.endpoint.received.append(Received("PUT", self.path, self.headers.get("Content-Type"), body))
        self.send_response(403 if self.path.startswith("/refused") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        return


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ResponseEndpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    recorder = ResponseEndpoint(f"http://127.0.0.1:{server.server_address[1]}")
    _Recorder.endpoint = recorder
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


@pytest.fixture
def cfn(endpoint: ResponseEndpoint) -> ResponseEndpoint:
    endpoint.received.clear()
    return endpoint


def _event(
    cfn: ResponseEndpoint,
    request: str,
    kind: str,
    properties: dict[str, Any],
    *,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
    url_name: str | None = None,
) -> dict[str, Any]:
    """An event shaped as CloudFormation sends it to a Lambda-backed custom resource."""
    event: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:churn-data-BucketObjects",
        "ResponseURL": cfn.url(url_name or f"responses/{uuid.uuid4()}"),
        "StackId": STACK_ID,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "TrainingDataResource4F2A1B3C" if kind == TRAINING_DATA else "EmptyDataBucket9D8E7F6A",
        "ResourceType": kind,
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...:BucketObjects", **properties},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    return event


def _answer(cfn: ResponseEndpoint, event: dict[str, Any]) -> dict[str, Any]:
    """The one response CloudFormation received for this event, checked as its pre-signed URL needs it."""
    (received,) = [r for r in cfn.received if event["ResponseURL"].endswith(r.path)]
    assert received.method == "PUT"
    assert received.content_type == ""  # the URL is signed without a content type
    assert len(received.body) <= MAX_RESPONSE_BYTES
    return json.loads(received.body)


def _success(event: dict[str, Any], physical_id: str) -> dict[str, Any]:
    return {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": physical_id,
        "StackId": STACK_ID,
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }


def _failed(event: dict[str, Any], physical_id: str, reason: str) -> dict[str, Any]:
    return {**_success(event, physical_id), "Status": "FAILED", "Reason": reason}


# --- S3 on moto --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[MockAWS, Any, RequestChecker]]:
    """One moto mock and client for the module: a boto3 client costs ~0.2 s to build."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setenv(name, "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws() as mock, checked_boto3() as checker:
            yield mock, boto3.client("s3", region_name=REGION), checker


@pytest.fixture
def s3(aws: tuple[MockAWS, Any, RequestChecker]) -> Iterator[Any]:
    """The shared client on an S3 that holds only the CDK asset bucket and the data bucket."""
    mock, client, checker = aws
    mock.reset()
    client.create_bucket(Bucket=ASSETS)
    for key, body in SOURCE_FILES.items():
        client.put_object(Bucket=ASSETS, Key=key, Body=body)
    client.create_bucket(Bucket=DATA)
    yield client
    checker.assert_clean()


def _training_data(prefix: str, copies: list[dict[str, str]]) -> dict[str, Any]:
    """The properties the TrainingData construct sends (Objects is a JSON string)."""
    return {
        "Bucket": DATA,
        "Prefix": prefix,
        "Objects": json.dumps([{**c, "key": f"{prefix}/{c['key']}"} for c in copies]),
    }


def _contents(s3: Any, bucket: str) -> dict[str, bytes]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def _versioned_bucket_with_history(s3: Any, bucket: str, *, keys: int, rewritten: int) -> int:
    """Fill a versioned bucket with versions and delete markers; returns how many entries it holds."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for index in range(keys):
        s3.put_object(Bucket=bucket, Key=f"logs/2026-11-06-{index:04d}", Body=b"GET /churn-data 200\n")
    for index in range(rewritten):
        s3.put_object(Bucket=bucket, Key=f"logs/2026-11-06-{index:04d}", Body=b"PUT /churn-data 200\n")
    # a plain delete in a versioned bucket adds a delete marker and keeps the versions
    s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": f"logs/2026-11-06-{i:04d}"} for i in range(keys)], "Quiet": True}
    )
    return keys + rewritten + keys


def _all_versions(s3: Any, bucket: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    return [entry for page in pages for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]


# --- Custom::TrainingData ----------------------------------------------------------------------


def test_create_copies_every_listed_object_byte_for_byte_and_answers_success(cfn, s3):
    event = _event(cfn, "Create", TRAINING_DATA, _training_data("data/v1", COPIES))

    assert handler(event, None) is None

    assert _answer(cfn, event) == _success(event, f"{DATA}/data/v1")
    assert _contents(s3, DATA) == {
        "data/v1/train/part-0.csv": SOURCE_FILES["3f2a9c1d.csv"],
        "data/v1/validation/part-0.csv": SOURCE_FILES["77aa00bb.csv"],
        "data/v1/schema/features.json": SOURCE_FILES["0c0ffee0.json"],
    }


def test_update_to_a_new_prefix_copies_there_and_answers_with_the_new_physical_id(cfn, s3):
    old = _training_data("data/v1", COPIES)
    handler(create := _event(cfn, "Create", TRAINING_DATA, old), None, client=lambda: s3)
    assert _answer(cfn, create)["Status"] == "SUCCESS"
    new = _training_data("data/v2", COPIES[:2])

    event = _event(cfn, "Update", TRAINING_DATA, new, physical_id=f"{DATA}/data/v1", old_properties=old)
    handler(event, None, client=lambda: s3)

    # a new physical ID is how CloudFormation learns to send Delete for the old one
    assert _answer(cfn, event) == _success(event, f"{DATA}/data/v2")
    contents = _contents(s3, DATA)
    assert contents["data/v2/train/part-0.csv"] == SOURCE_FILES["3f2a9c1d.csv"]
    assert contents["data/v2/validation/part-0.csv"] == SOURCE_FILES["77aa00bb.csv"]
    assert "data/v2/schema/features.json" not in contents
    assert sorted(k for k in contents if k.startswith("data/v1/")) == [
        "data/v1/schema/features.json",
        "data/v1/train/part-0.csv",
        "data/v1/validation/part-0.csv",
    ]


def test_delete_of_training_data_keeps_the_objects_and_echoes_its_physical_id(cfn, s3):
    properties = _training_data("data/v1", COPIES)
    handler(create := _event(cfn, "Create", TRAINING_DATA, properties), None, client=lambda: s3)
    before = _contents(s3, DATA)

    event = _event(cfn, "Delete", TRAINING_DATA, properties, physical_id=f"{DATA}/data/v1")
    handler(event, None, client=lambda: s3)

    assert _answer(cfn, create)["Status"] == "SUCCESS"
    assert _answer(cfn, event) == _success(event, f"{DATA}/data/v1")
    assert _contents(s3, DATA) == before
    assert len(before) == 3


def test_a_missing_source_object_fails_with_a_reason_naming_it(cfn, s3):
    copies = [*COPIES[:1], {"source": f"{ASSETS}/deadbeef.csv", "key": "test/part-0.csv"}]
    event = _event(cfn, "Create", TRAINING_DATA, _training_data("data/v1", copies))

    handler(event, None, client=lambda: s3)

    answer = _answer(cfn, event)
    # a failed Create has no physical resource yet: the logical ID stands in, as CloudFormation expects
    assert answer == _failed(event, event["LogicalResourceId"], answer["Reason"])
    assert answer["Reason"].startswith(
        f"RuntimeError: could not copy s3://{ASSETS}/deadbeef.csv to s3://{DATA}/data/v1/test/part-0.csv: "
    )
    assert "NoSuchKey" in answer["Reason"]


def test_a_failed_update_keeps_the_current_physical_id(cfn, s3):
    copies = [{"source": f"{ASSETS}/deadbeef.csv", "key": "test/part-0.csv"}]
    event = _event(cfn, "Update", TRAINING_DATA, _training_data("data/v2", copies), physical_id=f"{DATA}/data/v1")

    handler(event, None, client=lambda: s3)

    # a changed ID on a failed update would make CloudFormation delete the resource it keeps
    assert _answer(cfn, event)["PhysicalResourceId"] == f"{DATA}/data/v1"
    assert _answer(cfn, event)["Status"] == "FAILED"


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"Prefix": "data/v1", "Objects": "[]"}, "ValueError: resource property 'Bucket' is missing"),
        ({"Bucket": DATA, "Prefix": "data/v1"}, "ValueError: resource property 'Objects' is missing"),
        ({"Bucket": DATA, "Prefix": "data/v1", "Objects": "[{"}, "ValueError: resource property 'Objects' is not JSON"),
        (
            {"Bucket": DATA, "Prefix": "data/v1", "Objects": json.dumps([{"source": "no-slash", "key": "a"}])},
            "ValueError: each entry of Objects must be",
        ),
    ],
    ids=["no-bucket", "no-objects", "bad-json", "source-without-key"],
)
def test_malformed_training_data_properties_fail_with_a_reason_naming_the_problem(cfn, s3, properties, reason):
    event = _event(cfn, "Create", TRAINING_DATA, properties)

    assert handler(event, None, client=lambda: s3) is None

    answer = _answer(cfn, event)
    assert answer == _failed(event, event["LogicalResourceId"], answer["Reason"])
    assert answer["Reason"].startswith(reason)


# --- Custom::EmptyBucket -----------------------------------------------------------------------


def test_empty_bucket_delete_removes_every_version_and_delete_marker_beyond_one_page(cfn, s3):
    entries = _versioned_bucket_with_history(s3, LOGS, keys=510, rewritten=10)
    assert len(_all_versions(s3, LOGS)) == entries > 1000  # more than one page: the handler must go past the first
    event = _event(cfn, "Delete", EMPTY_BUCKET, {"Bucket": LOGS, "RemovePolicy": "false"}, physical_id=LOGS)

    handler(event, None, client=lambda: s3)

    assert _answer(cfn, event) == _success(event, LOGS)
    assert _all_versions(s3, LOGS) == []
    s3.delete_bucket(Bucket=LOGS)  # CloudFormation's own delete of the bucket now succeeds
    assert LOGS not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_empty_bucket_answers_failed_in_time_when_the_lambda_is_about_to_run_out(cfn, s3):
    _versioned_bucket_with_history(s3, LOGS, keys=5, rewritten=1)
    event = _event(cfn, "Delete", EMPTY_BUCKET, {"Bucket": LOGS, "RemovePolicy": "false"}, physical_id=LOGS)

    class NearlyOutOfTime:
        def get_remaining_time_in_millis(self) -> int:
            return 30_000

    handler(event, NearlyOutOfTime(), client=lambda: s3)

    answer = _answer(cfn, event)
    assert answer["Status"] == "FAILED"
    assert "run the destroy again" in answer["Reason"]
    assert _all_versions(s3, LOGS)  # nothing was deleted after the deadline


@pytest.mark.parametrize(("remove_policy", "policy_kept"), [("true", False), ("false", True)])
def test_empty_bucket_removes_the_bucket_policy_before_any_object_only_when_asked(cfn, s3, remove_policy, policy_kept):
    s3.create_bucket(Bucket=LOGS)
    statement = {
        "Sid": "ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOGS}/*",
    }
    s3.put_bucket_policy(Bucket=LOGS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    s3.put_object(Bucket=LOGS, Key="logs/2026-11-06-0001", Body=b"GET /churn-data 200\n")
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    event = _event(cfn, "Delete", EMPTY_BUCKET, {"Bucket": LOGS, "RemovePolicy": remove_policy}, physical_id=LOGS)
    s3.meta.events.register("before-call.s3", record)  # botocore's own hook: the order of real calls
    try:
        handler(event, None, client=lambda: s3)
    finally:
        s3.meta.events.unregister("before-call.s3", record)

    assert _answer(cfn, event) == _success(event, LOGS)
    assert _all_versions(s3, LOGS) == []
    if policy_kept:
        assert "DeleteBucketPolicy" not in calls
        assert json.loads(s3.get_bucket_policy(Bucket=LOGS)["Policy"])["Statement"][0]["Sid"] == "ServerAccessLogs"
    else:
        # the policy goes first, so access logs stop arriving while the bucket empties
        assert calls.index("DeleteBucketPolicy") < calls.index("DeleteObjects")
        with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
            s3.get_bucket_policy(Bucket=LOGS)


@pytest.mark.parametrize("remove_policy", ["true", "false"])
def test_empty_bucket_delete_of_a_bucket_already_gone_succeeds(cfn, s3, remove_policy):
    event = _event(cfn, "Delete", EMPTY_BUCKET, {"Bucket": LOGS, "RemovePolicy": remove_policy}, physical_id=LOGS)

    handler(event, None, client=lambda: s3)

    assert _answer(cfn, event) == _success(event, LOGS)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_empty_bucket_create_and_update_leave_the_objects_alone(cfn, s3, request_type):
    s3.put_object(Bucket=DATA, Key="data/v1/train/part-0.csv", Body=SOURCE_FILES["3f2a9c1d.csv"])
    physical_id = DATA if request_type == "Update" else None
    event = _event(cfn, request_type, EMPTY_BUCKET, {"Bucket": DATA, "RemovePolicy": "true"}, physical_id=physical_id)

    handler(event, None, client=lambda: s3)

    assert _answer(cfn, event) == _success(event, DATA)
    assert _contents(s3, DATA) == {"data/v1/train/part-0.csv": SOURCE_FILES["3f2a9c1d.csv"]}


# --- whatever comes in, CloudFormation hears back ----------------------------------------------


def test_an_unknown_resource_type_fails_with_a_reason_naming_it_and_the_known_ones(cfn, s3):
    event = _event(cfn, "Create", "Custom::BucketDeployment", {"Bucket": DATA})

    assert handler(event, None, client=lambda: s3) is None

    assert _answer(cfn, event) == _failed(
        event,
        event["LogicalResourceId"],
        f"ValueError: unknown resource type 'Custom::BucketDeployment': expected {TRAINING_DATA} or {EMPTY_BUCKET}",
    )


def test_an_unknown_request_type_fails_instead_of_being_taken_for_a_create(cfn, s3):
    event = _event(cfn, "Replace", TRAINING_DATA, _training_data("data/v1", COPIES), physical_id=f"{DATA}/data/v1")

    handler(event, None, client=lambda: s3)

    assert _answer(cfn, event) == _failed(
        event,
        f"{DATA}/data/v1",
        "ValueError: unknown request type 'Replace': expected one of Create, Update, Delete",
    )
    assert _contents(s3, DATA) == {}


@pytest.mark.parametrize("character", ["x", "é", '"', "\u2603"], ids=["ascii", "latin", "quote", "snowman"])
def test_a_long_reason_is_cut_so_the_response_fits_cloudformations_size_limit(cfn, s3, character):
    # escaping makes one character up to six bytes, so a character count alone is no byte bound
    kind = "Custom::" + character * 5000
    event = _event(cfn, "Create", kind, {"Bucket": DATA})

    handler(event, None, client=lambda: s3)

    answer = _answer(cfn, event)  # also checks the body is at most MAX_RESPONSE_BYTES
    (raw,) = [r.body for r in cfn.received]
    full = f"ValueError: unknown resource type {kind!r}: expected {TRAINING_DATA} or {EMPTY_BUCKET}"
    assert answer == _failed(event, event["LogicalResourceId"], answer["Reason"])
    start, _, end = answer["Reason"].partition("…")
    assert full.startswith(start) and full.endswith(end)
    # as much of the reason as fits: the character cap, or within one escaped character of the byte cap
    assert len(answer["Reason"]) == MAX_REASON_CHARS or len(raw) > MAX_RESPONSE_BYTES - 6


def test_s3_out_of_reach_is_answered_as_failed_naming_the_object_not_raised(cfn, s3):
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = boto3.client(
        "s3", region_name=REGION, endpoint_url=closed, config=Config(retries={"total_max_attempts": 1})
    )
    event = _event(cfn, "Create", TRAINING_DATA, _training_data("data/v1", COPIES))

    assert handler(event, None, client=lambda: unreachable) is None

    answer = _answer(cfn, event)
    assert answer == _failed(event, event["LogicalResourceId"], answer["Reason"])
    assert answer["Reason"].startswith(
        f"RuntimeError: could not copy s3://{ASSETS}/3f2a9c1d.csv to s3://{DATA}/data/v1/train/part-0.csv: "
    )
    assert "Could not connect" in answer["Reason"]


def test_a_refused_answer_is_raised_so_lambda_retries_the_request(cfn, s3):
    event = _event(cfn, "Create", TRAINING_DATA, _training_data("data/v1", COPIES), url_name="refused/expired")

    with pytest.raises(urllib.error.HTTPError, match="403"):
        handler(event, None, client=lambda: s3)

    assert len(cfn.received) == 1  # CloudFormation's side was asked exactly once
    assert len(_contents(s3, DATA)) == 3  # the copy is idempotent, so a retry repeats it safely
