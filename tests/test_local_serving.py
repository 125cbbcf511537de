"""The local endpoint over real HTTP: boto3's sagemaker-runtime client, the container routes, capture."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from local.capture_files import CaptureBatcher
from local.serving import LocalEndpoint, LocalEndpointError
from mlops_cli.signals import raise_keyboard_interrupt
from tests.model_fixtures import csv_body, runtime_client, trained_model, validation_features, xgboost_scores

ENDPOINT = "churn-local"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def capture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("capture")


@pytest.fixture(scope="module")
def endpoint(capture_dir: Path) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(trained_model().model_tar, capture_dir=capture_dir, endpoint_name=ENDPOINT) as running:
        yield running


@pytest.fixture(scope="module")
def client(endpoint: LocalEndpoint) -> object:
    return runtime_client(endpoint.url)


def post(endpoint: LocalEndpoint, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_ping_answers_200(endpoint: LocalEndpoint) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
    connection.request("GET", "/ping")
    assert connection.getresponse().status == 200


def test_boto3_csv_in_json_out_equals_xgboost(client: object) -> None:
    features = validation_features(10)
    response = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=csv_body(features))
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    predictions = json.loads(response["Body"].read())["predictions"]
    scores = np.array([p["score"] for p in predictions], dtype=np.float32)
    np.testing.assert_array_equal(scores, xgboost_scores(features))


def test_boto3_json_in_csv_out_equals_xgboost(client: object) -> None:
    features = validation_features(10)
    rows = [[None if v != v else v for v in row] for row in features.tolist()]
    response = client.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="application/json", Accept="text/csv", Body=json.dumps({"instances": rows})
    )
    assert response["ContentType"] == "text/csv"
    lines = response["Body"].read().decode().splitlines()
    scores = np.array([float(line.split(",")[0]) for line in lines], dtype=np.float32)
    np.testing.assert_array_equal(scores, xgboost_scores(features))


@pytest.mark.parametrize("accept", ["application/json", "text/csv"])
def test_a_batch_of_1000_rows_equals_xgboost(client: object, accept: str) -> None:
    features = validation_features()[:600]
    features = np.concatenate([features, features[:400] * 1.01])
    response = client.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv", Accept=accept, Body=csv_body(features)
    )
    body = response["Body"].read().decode()
    if accept == "text/csv":
        scores = [float(line.split(",")[0]) for line in body.splitlines()]
    else:
        scores = [p["score"] for p in json.loads(body)["predictions"]]
    assert len(scores) == 1000
    np.testing.assert_array_equal(np.array(scores, dtype=np.float32), xgboost_scores(features))


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"1,2,3", {"Content-Type": "text/csv"}, 400, "row 1 has 3 values, expected 15"),
        (b"1,a", {"Content-Type": "application/json"}, 400, "body is not valid JSON"),
        (b"1,2", {"Content-Type": "application/xml"}, 415, "Content-Type 'application/xml' is not supported"),
        (b"1,2", {}, 415, "Content-Type is missing"),
        (b"1," * 14 + b"1", {"Content-Type": "text/csv", "Accept": "image/png"}, 406, "Accept 'image/png'"),
    ],
)
def test_container_route_answers_the_handlers_status_and_message(
    endpoint: LocalEndpoint, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    code, _, payload = post(endpoint, "/invocations", body, headers)
    assert code == status
    assert message in payload.decode()


def test_runtime_route_reports_client_mistakes_as_model_errors(client: object) -> None:
    body = csv_body(validation_features(2)).replace("\n", ",oops\n", 1)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=body)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert "row 1 has 16 values" in response["OriginalMessage"]
    assert "Received client error (400) from primary" in response["Error"]["Message"]


def test_runtime_route_refuses_an_unknown_endpoint_name(client: object) -> None:
    with pytest.raises(client.exceptions.ValidationError, match="Endpoint other-endpoint of account"):
        client.invoke_endpoint(EndpointName="other-endpoint", ContentType="text/csv", Body="1")


def test_unknown_paths_and_methods_are_refused(endpoint: LocalEndpoint) -> None:
    assert post(endpoint, "/predict", b"1", {"Content-Type": "text/csv"})[0] == 404
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
    connection.request("GET", "/invocations")
    assert connection.getresponse().status == 405


def test_a_body_over_the_runtime_limit_is_refused_before_it_is_read(endpoint: LocalEndpoint) -> None:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as raw:
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 6300000\r\n\r\n"
        )
        assert raw.recv(64).startswith(b"HTTP/1.1 413 ")


def test_invalid_utf8_declared_as_plain_text_csv_is_a_500_as_in_the_container(endpoint: LocalEndpoint) -> None:
    """The toolkit's Transformer decodes exact `text/csv` bodies before any user code runs.

    A UnicodeDecodeError there becomes a 500 in the real container too; with a charset
    parameter the body reaches input_fn undecoded, which answers 400.
    """
    assert post(endpoint, "/invocations", b"1,\xff", {"Content-Type": "text/csv"})[0] == 500
    assert post(endpoint, "/invocations", b"1,\xff", {"Content-Type": "text/csv; charset=utf-8"})[0] == 400


def read_capture(capture_dir: Path) -> list[dict]:
    files = sorted(capture_dir.glob(f"capture/{ENDPOINT}/*/*/*/*/*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def test_capture_lines_round_trip_into_hourly_capture_files(
    endpoint: LocalEndpoint, client: object, capture_dir: Path
) -> None:
    endpoint.flush_capture()
    before = {r["request_id"] for r in read_capture(capture_dir)}
    features = validation_features(25)
    response = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=csv_body(features))
    scores = [p["score"] for p in json.loads(response["Body"].read())["predictions"]]
    endpoint.flush_capture()
    records = [r for r in read_capture(capture_dir) if r["request_id"] not in before]
    assert len(records) == 25 and len({r["request_id"] for r in records}) == 1
    records.sort(key=lambda r: r["i"])
    assert [r["x"] for r in records] == [[None if v != v else v for v in row] for row in features.tolist()]
    assert [r["score"] for r in records] == scores
    for path in capture_dir.glob(f"capture/{ENDPOINT}/*/*/*/*/*.jsonl"):
        year, month, day, hour = path.parts[-5:-1]
        stamps = {json.loads(line)["ts"][:13] for line in path.read_text().splitlines()}
        assert stamps == {f"{year}-{month}-{day}T{hour}"}
    assert endpoint.malformed_lines == 0


def test_capture_batcher_splits_hours_counts_malformed_lines_and_ignores_other_output(tmp_path: Path) -> None:
    logged: list[str] = []
    batcher = CaptureBatcher(tmp_path, "ep", logged.append)
    record = (
        '{"v":1,"ts":"2026-11-26T10:59:59.999Z","request_id":"r","model_id":"m","i":0,"n":2,"x":[1.5,null],"score":0.5}'
    )
    assert batcher.offer("2026-11-26 [INFO ] W-9000 model loaded") is False
    assert batcher.offer('MLOPS_CAPTURE {"v":1, "ts": truncated') is True
    assert batcher.offer(f"2026-11-26 [INFO ] W-9000-model-stdout MLOPS_CAPTURE {record}")
    assert batcher.offer("MLOPS_CAPTURE " + record.replace("10:59:59.999", "11:00:00.000").replace('"i":0', '"i":1'))
    assert batcher.write() == 2 and batcher.write() == 0
    files = sorted(tmp_path.rglob("*.jsonl"))
    hours = [path.parent.relative_to(tmp_path).as_posix() for path in files]
    assert hours == ["capture/ep/2026/11/26/10", "capture/ep/2026/11/26/11"]
    assert json.loads(files[0].read_text())["x"] == [1.5, None]
    assert batcher.malformed_lines == 1 and "malformed" in logged[0]


def free_port_is_bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stopping_the_endpoint_ends_the_server_cleanly_and_frees_the_port() -> None:
    running = LocalEndpoint(trained_model().model_tar).start()
    port = running.port
    assert not free_port_is_bindable(port)
    running.stop()
    assert running.exit_code == 0
    assert free_port_is_bindable(port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


class SignalledDuringPingWait(LocalEndpoint):
    """A real endpoint that receives SIGTERM (as `mlops serve` handles it) once the server has bound its port."""

    def _wait_for_ping(self, deadline: float) -> None:
        assert self._process is not None and self._scratch is not None
        self.seen = (self._process.pid, self.port, Path(self._scratch))
        signal.raise_signal(signal.SIGTERM)
        super()._wait_for_ping(deadline)


def test_an_interrupted_start_stops_the_server_frees_the_port_and_removes_its_files() -> None:
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        starting = SignalledDuringPingWait(trained_model().model_tar)
        with pytest.raises(KeyboardInterrupt):
            starting.start()
    finally:
        signal.signal(signal.SIGTERM, previous)
    pid, port, scratch = starting.seen
    assert starting.exit_code == 0  # stopped with SIGTERM, not left running
    with pytest.raises(ProcessLookupError):  # and reaped: no zombie either
        os.kill(pid, 0)
    assert free_port_is_bindable(port)
    assert not scratch.exists()


def test_an_endpoint_name_sagemaker_would_refuse_is_refused() -> None:
    with pytest.raises(LocalEndpointError, match="letters, digits or hyphens"):
        LocalEndpoint(trained_model().model_tar, endpoint_name="my_endpoint")


def test_a_broken_model_artifact_fails_start_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(LocalEndpointError, match="cannot read model artifact"):
        LocalEndpoint(broken).start()


SERVE_SCRIPT = """
import argparse, sys
from mlops_cli import model_verbs
parser = argparse.ArgumentParser(prog="mlops")
model_verbs.register(parser.add_subparsers(dest="verb", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.run(args))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_mlops_serve_captures_and_exits_cleanly_on_a_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    command = [sys.executable, "-c", SERVE_SCRIPT, "serve", "--local", "--model", str(trained_model().model_tar)]
    command += ["--port", "0", "--capture-dir", str(tmp_path), "--endpoint-name", ENDPOINT]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", banner).group(1))
        client = runtime_client(f"http://127.0.0.1:{port}")
        client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=csv_body(validation_features(4)))
        process.send_signal(stop_signal)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "captured 4 records" in out
    assert len(read_capture(tmp_path)) == 4
    deadline = time.monotonic() + 5
    while not free_port_is_bindable(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert free_port_is_bindable(port)


def test_flush_capture_waits_for_lines_printed_while_the_reader_was_between_polls(tmp_path: Path) -> None:
    rows = 5
    with LocalEndpoint(trained_model().model_tar, capture_dir=tmp_path, endpoint_name=ENDPOINT) as running:
        assert running.flush_capture() == 0
        # Holding the reader's lock parks the reader thread on it for the rest of its idle poll (it
        # polls every 50 ms); the request's capture lines then reach the pipe while it is parked, the
        # window where a reader that read its flush ticket after polling reported them as flushed.
        with running._flush_lock:
            time.sleep(0.3)
            status, _, _ = post(
                running, "/invocations", csv_body(validation_features(rows)).encode(), {"Content-Type": "text/csv"}
            )
            assert status == 200
            # The lock is re-entrant, so the flush runs while the reader is still parked.
            assert running.flush_capture() == rows
    assert len(read_capture(tmp_path)) == rows
