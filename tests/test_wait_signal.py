"""The wait condition signal: one PUT of CloudFormation's signal document to a real HTTP server on 127.0.0.1.

The document is the one the user guide shows (Status, Reason, UniqueId, Data:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html),
sent without a content type, as the pre-signed URL was signed with none.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator

import pytest

from mlops_stacks.handlers.cfn_response import TAIL_CHARS
from mlops_stacks.handlers.wait_signal import MAX_SIGNAL_BYTES, handler, signal_body
from tests.presigned_url import PresignedUrls, presigned_urls


@pytest.fixture
def cfn() -> Iterator[PresignedUrls]:
    with presigned_urls() as urls:
        yield urls


def test_a_successful_run_puts_success_with_its_reason_and_the_runs_name(cfn: PresignedUrls) -> None:
    answer = handler(
        {
            "handle": cfn.url("waitcondition/handle-1"),
            "status": "SUCCESS",
            "reason": "version 3 of training job mlops-showcase-0a1b is Approved",
            "unique_id": "served-0a1b2c3d-5e6f7a8b",
        }
    )
    assert answer == {"signalled": "SUCCESS"}
    (put,) = cfn.received
    assert put.path.startswith("/waitcondition/handle-1?X-Amz-Algorithm=")
    assert not put.content_type
    assert put.json() == {
        "Status": "SUCCESS",
        "Reason": "version 3 of training job mlops-showcase-0a1b is Approved",
        "UniqueId": "served-0a1b2c3d-5e6f7a8b",
        "Data": "version 3 of training job mlops-showcase-0a1b is Approved",
    }


def test_a_failure_carries_a_lambdas_error_message_on_one_line_not_its_report(cfn: PresignedUrls) -> None:
    report = json.dumps(
        {
            "errorMessage": "training job mlops-showcase-0a1b Failed:\n  validation AUC is NaN",
            "errorType": "TrainingRunError",
            "stackTrace": ['  File "/var/task/handler.py", line 12'],
        }
    )
    handler({"handle": cfn.url("h"), "status": "FAILURE", "reason": report, "unique_id": "run-1"})
    body = cfn.bodies()[0]
    assert body["Status"] == "FAILURE"
    assert body["Reason"] == "training job mlops-showcase-0a1b Failed: validation AUC is NaN"


def test_a_signal_without_a_reason_still_says_something() -> None:
    assert json.loads(signal_body("SUCCESS", "", "run-1"))["Reason"] == "success"


@pytest.mark.parametrize("character", ["a", "é", '"', "\x01", "\U0001f600"])
def test_a_long_reason_is_cut_so_that_the_whole_signal_fits_4_kb(cfn: PresignedUrls, character: str) -> None:
    reason = character * 20_000
    handler({"handle": cfn.url("h"), "status": "FAILURE", "reason": reason, "unique_id": "r" * 80})
    put = cfn.received[0]
    assert len(put.body) <= MAX_SIGNAL_BYTES
    body = put.json()
    assert body["Reason"] == body["Data"] and len(body["Reason"]) >= 100
    # The end is kept when the start has at least as much room as the end takes: not for \uXXXX escapes.
    start, cut, end = body["Reason"].partition("…")
    assert reason.startswith(start) and reason.endswith(end)
    assert bool(cut) == (character in 'a"') and (not cut or len(end) == TAIL_CHARS)


def test_a_training_failure_reason_keeps_the_log_stream_it_ends_with() -> None:
    reason = "training job p-1 Failed (AlgorithmError): " + "é" * 1100 + ". See the log group g, stream p-1/algo-1."
    sent = json.loads(signal_body("FAILURE", reason, "run-1"))["Reason"]
    assert sent.startswith("training job p-1 Failed (AlgorithmError): éé") and "…" in sent
    assert sent.endswith(". See the log group g, stream p-1/algo-1.")


def test_a_status_cloudformation_does_not_know_is_refused_before_anything_is_sent(cfn: PresignedUrls) -> None:
    with pytest.raises(ValueError, match="SUCCESS or FAILURE, got 'FAILED'"):
        handler({"handle": cfn.url("h"), "status": "FAILED", "reason": "x", "unique_id": "run-1"})
    assert cfn.received == []


def test_a_refused_put_fails_the_task_so_that_the_state_retries_it(cfn: PresignedUrls) -> None:
    with pytest.raises(urllib.error.HTTPError, match="403"):
        handler({"handle": cfn.url("refused/h"), "status": "SUCCESS", "reason": "ok", "unique_id": "run-1"})
    assert len(cfn.received) == 1
