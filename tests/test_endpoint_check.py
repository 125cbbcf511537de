"""`mlops test-endpoint` against the real local model server, and against endpoints that answer wrongly.

The healthy endpoint is the session's container-true local endpoint serving a model trained here; the broken ones
are small HTTP servers on 127.0.0.1 speaking the SageMaker Runtime route, each wrong in one way.
Every request goes through the unmodified boto3 `sagemaker-runtime` client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dataset import FEATURE_NAMES
from mlops_cli.main import main
from monitoring.tools.endpoint_check import (
    FIRST_REQUEST,
    MALFORMED,
    EndpointCheckError,
    ProbeRows,
    check_endpoint,
    csv_probe_rows,
    synthetic_probe_rows,
)
from tests.conftest import SHARED_ENDPOINT as ENDPOINT
from tests.conftest import SharedEndpoint
from tests.model_fixtures import runtime_client, small_dataset


@pytest.fixture(scope="module")
def endpoint(shared_endpoint: SharedEndpoint) -> SharedEndpoint:
    return shared_endpoint


@pytest.fixture(scope="module")
def probe() -> ProbeRows:
    return synthetic_probe_rows(40, seed=11)


def test_a_healthy_endpoint_passes_every_check(endpoint: SharedEndpoint, probe: ProbeRows) -> None:
    report = check_endpoint(runtime_client(endpoint.url), ENDPOINT, probe, requests_per_kind=3, batch_rows=40)
    assert report.passed, report.to_dict()
    names = [kind.name for kind in report.kinds]
    assert names == [FIRST_REQUEST, "csv, 1 row", "csv, 40 rows", "json, 1 row (named)", "json, 40 rows", MALFORMED]
    assert [kind.sent for kind in report.kinds] == [1, 3, 3, 3, 3, 1]
    assert report.requests == 14
    for kind in report.kinds:
        assert kind.passed == kind.sent and not kind.problems
        p50, p95 = kind.percentile_ms(50), kind.percentile_ms(95)
        assert p50 is not None and p95 is not None and 0 < p50 <= p95 < 5000


def test_rows_with_missing_values_from_a_data_csv_pass_in_both_formats(endpoint: SharedEndpoint) -> None:
    probe = csv_probe_rows(small_dataset() / "validation.csv", "churned", 200)
    assert probe.names == FEATURE_NAMES and probe.values.shape == (200, len(FEATURE_NAMES))
    # The synthetic data leaves some satisfaction answers empty: they travel as "" in CSV, null in JSON.
    assert (probe.values != probe.values).any()
    report = check_endpoint(runtime_client(endpoint.url), ENDPOINT, probe, requests_per_kind=1, batch_rows=200)
    assert report.passed, report.to_dict()


def test_an_unknown_endpoint_name_stops_after_the_first_request(endpoint: SharedEndpoint, probe: ProbeRows) -> None:
    report = check_endpoint(runtime_client(endpoint.url), "no-such-endpoint", probe, requests_per_kind=5)
    assert not report.passed
    assert report.requests == 1
    assert report.aborted is not None and "no-such-endpoint" in report.aborted and "not found" in report.aborted


def test_a_closed_port_is_reported_as_unreachable(probe: ProbeRows) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report = check_endpoint(runtime_client(f"http://127.0.0.1:{port}"), ENDPOINT, probe, requests_per_kind=2)
    assert not report.passed and report.requests == 1
    assert report.aborted is not None and "EndpointConnectionError" in report.aborted


# --- endpoints that answer wrongly -------------------------------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


def request_rows(content_type: str, body: bytes) -> int:
    if content_type.startswith("text/csv"):
        return len(body.decode().splitlines())
    return len(json.loads(body)["instances"])


def predictions(rows: int, accept: str, score: float) -> Answer:
    label = int(score >= 0.5)
    if accept == "text/csv":
        return 200, {"Content-Type": "text/csv"}, f"{score},{label}\n".encode() * rows
    items = [{"score": score, "label": label}] * rows
    return 200, {"Content-Type": "application/json"}, json.dumps({"predictions": items}).encode()


def server_error(content_type: str, accept: str, body: bytes) -> Answer:
    return 500, {"x-amzn-ErrorType": "InternalFailure"}, b'{"message": "An exception occurred while serving"}'


def html_error_page(content_type: str, accept: str, body: bytes) -> Answer:
    # The container's 4xx, as the runtime wraps it, but an HTML error page instead of a message.
    page = "<!DOCTYPE HTML PUBLIC><title>400 Bad Request</title>"
    error = {"OriginalStatusCode": 400, "OriginalMessage": page, "Message": "Received client error (400)"}
    return 424, {"x-amzn-ErrorType": "ModelError", "Content-Type": "application/json"}, json.dumps(error).encode()


def garbage(content_type: str, accept: str, body: bytes) -> Answer:
    return 200, {"Content-Type": accept}, b"<html>upstream proxy says hello</html>"


def constant_score(content_type: str, accept: str, body: bytes) -> Answer:
    # Well-formed, right row count, but the same score for every row and no input validation.
    return predictions(request_rows(content_type, body), accept, 0.5)


def out_of_range(content_type: str, accept: str, body: bytes) -> Answer:
    return predictions(request_rows(content_type, body), accept, 1.7)


def fake_endpoint(respond: Callable[[str, str, bytes], Answer]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, headers, payload = respond(
                self.headers.get("Content-Type", ""), self.headers.get("Accept", "application/json"), body
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("respond", "expected"),
    [
        (server_error, {"csv, 1 row": "status 500", MALFORMED: "answered a malformed request with 500"}),
        (garbage, {"csv, 1 row": "unreadable answer", MALFORMED: "accepted a malformed request with 200"}),
        (html_error_page, {MALFORMED: "answered a malformed request with 400 but no plain message"}),
        (out_of_range, {"json, 40 rows": "score 1.7 is not a probability"}),
        (constant_score, {MALFORMED: "accepted a malformed request with 200"}),
    ],
    ids=["500", "garbage", "html-4xx", "out-of-range", "constant"],
)
def test_a_wrong_answering_endpoint_fails_the_check(
    respond: Callable[[str, str, bytes], Answer], expected: dict[str, str], probe: ProbeRows
) -> None:
    server = fake_endpoint(respond)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = check_endpoint(runtime_client(url), ENDPOINT, probe, requests_per_kind=2, batch_rows=40)
    finally:
        server.shutdown()
        server.server_close()
    assert not report.passed
    assert report.aborted is None, "an endpoint that answers is checked, not given up on"
    by_name = {kind.name: kind for kind in report.kinds}
    for kind_name, message in expected.items():
        assert any(message in problem for problem in by_name[kind_name].problems), by_name[kind_name].problems
    if respond is constant_score:
        assert any("a constant answer" in problem for problem in report.consistency_problems)


# --- the CLI verb ---------------------------------------------------------------------------------------------


def run_verb(argv: list[str]) -> int:
    """Run a verb as the console script does, usage errors included."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.fixture
def local_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no cdk.json here: the settings defaults apply


def test_the_verb_exits_zero_and_prints_json_for_a_healthy_endpoint(
    endpoint: SharedEndpoint, local_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["test-endpoint", "--endpoint", ENDPOINT, "--endpoint-url", endpoint.url, "--region", "us-east-1"]
    code = run_verb([*argv, "--requests", "2", "--batch-rows", "25", "--json"])
    output = json.loads(capsys.readouterr().out)
    assert code == 0
    assert output["passed"] is True and output["requests"] == 10
    assert output["kinds"][2]["name"] == "csv, 25 rows" and output["kinds"][2]["p50_ms"] > 0


def test_the_verb_exits_one_when_a_check_fails(local_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    server = fake_endpoint(garbage)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code = run_verb(["test-endpoint", "--endpoint-url", url, "--region", "us-east-1", "--requests", "1"])
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr()
    assert code == 1
    assert "FAIL" in out.out and "unreadable answer" in out.out
    # Six requests, one of them malformed: far above the 5 % 4XX alarm threshold, and the user is told.
    assert "4XX alarm" in out.err


def test_the_verb_exits_two_on_bad_arguments(local_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_verb(["test-endpoint", "--region", "us-east-1", "--requests", "0"]) == 2
    assert "--requests" in capsys.readouterr().err
    assert run_verb(["test-endpoint", "--region", "us-east-1", "--data", "missing.csv"]) == 2
    assert "missing.csv: file not found" in capsys.readouterr().err


def test_probe_rows_of_the_wrong_shape_are_refused() -> None:
    import numpy as np

    with pytest.raises(EndpointCheckError, match="non-empty matrix of 2 columns"):
        ProbeRows(("a", "b"), np.zeros((3, 3)))
