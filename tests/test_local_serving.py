"""The local endpoint as a server: routes, the runtime front end, robustness, its processes and capture files."""

from __future__ import annotations

import fcntl
import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from local.capture_files import CaptureBatcher
from local.model_archive import ModelArchiveError, extract_model
from local.serving import LocalEndpoint, LocalEndpointError
from mlops_cli.signals import raise_keyboard_interrupt
from tests.conftest import SHARED_ENDPOINT, SharedEndpoint
from tests.model_fixtures import (
    csv_body,
    extracted_model,
    post,
    read_capture,
    runtime_client,
    trained_model,
    validation_features,
    xgboost_scores,
)
from tests.processes import cmdline, interruptible, sessions_ended, snapshot, still_running

REPO = Path(__file__).resolve().parents[1]
ROW = csv_body(validation_features(1))


def get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- routes, on the session's endpoint --------------------------------------------------------------


def test_ping_answers_200_with_an_empty_body_as_the_container_does(shared_endpoint: SharedEndpoint) -> None:
    assert get(shared_endpoint.port, "/ping") == (200, b"")


def test_boto3_csv_in_json_out_equals_xgboost(shared_endpoint: SharedEndpoint) -> None:
    features = validation_features(10)
    client = runtime_client(shared_endpoint.url)
    response = client.invoke_endpoint(EndpointName=SHARED_ENDPOINT, ContentType="text/csv", Body=csv_body(features))
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    predictions = json.loads(response["Body"].read())["predictions"]
    scores = np.array([p["score"] for p in predictions], dtype=np.float32)
    np.testing.assert_array_equal(scores, xgboost_scores(features))


def test_boto3_json_in_csv_out_equals_xgboost(shared_endpoint: SharedEndpoint) -> None:
    features = validation_features(10)
    rows = [[None if v != v else v for v in row] for row in features.tolist()]
    client = runtime_client(shared_endpoint.url)
    response = client.invoke_endpoint(
        EndpointName=SHARED_ENDPOINT,
        ContentType="application/json",
        Accept="text/csv",
        Body=json.dumps({"instances": rows}),
    )
    assert response["ContentType"] == "text/csv; charset=utf-8"  # Flask adds the charset to text types
    lines = response["Body"].read().decode().splitlines()
    scores = np.array([float(line.split(",")[0]) for line in lines], dtype=np.float32)
    np.testing.assert_array_equal(scores, xgboost_scores(features))


def test_runtime_route_reports_a_client_mistake_as_a_model_error(shared_endpoint: SharedEndpoint) -> None:
    client = runtime_client(shared_endpoint.url)
    body = csv_body(validation_features(2)).replace("\n", ",oops\n", 1)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName=SHARED_ENDPOINT, ContentType="text/csv", Body=body)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert response["OriginalMessage"].startswith("row 1 has 16 values")
    assert "Received client error (400) from primary" in response["Error"]["Message"]


def test_runtime_route_refuses_an_unknown_endpoint_name(shared_endpoint: SharedEndpoint) -> None:
    client = runtime_client(shared_endpoint.url)
    with pytest.raises(client.exceptions.ValidationError, match="Endpoint other-endpoint of account"):
        client.invoke_endpoint(EndpointName="other-endpoint", ContentType="text/csv", Body="1")


def test_paths_outside_the_containers_routes_get_nginxs_404(shared_endpoint: SharedEndpoint) -> None:
    assert post(shared_endpoint.port, "/predict", b"1", {"Content-Type": "text/csv"})[::2] == (404, b"{}")
    assert get(shared_endpoint.port, "/")[0] == 404
    # /invocations is the container's: Flask refuses the method itself.
    assert get(shared_endpoint.port, "/invocations")[0] == 405


def test_a_body_over_the_runtime_limit_is_refused_before_it_is_read(shared_endpoint: SharedEndpoint) -> None:
    with socket.create_connection(("127.0.0.1", shared_endpoint.port), timeout=5) as raw:
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 6300000\r\n\r\n"
        )
        assert raw.recv(64).startswith(b"HTTP/1.1 413 ")


def test_a_hundred_idle_or_half_sent_connections_do_not_stop_ping(shared_endpoint: SharedEndpoint) -> None:
    connections = []
    try:
        for i in range(100):
            raw = socket.create_connection(("127.0.0.1", shared_endpoint.port), timeout=5)
            if i % 3 == 1:
                raw.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            elif i % 3 == 2:
                raw.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n1,2")  # body cut
            connections.append(raw)
        assert get(shared_endpoint.port, "/ping", timeout=5) == (200, b"")
        status, _, payload = post(shared_endpoint.port, "/invocations", ROW, {"Content-Type": "text/csv"})
        assert status == 200 and b"predictions" in payload
    finally:
        for raw in connections:
            raw.close()


def test_capture_files_appear_soon_after_the_answer_without_a_flush(shared_endpoint: SharedEndpoint) -> None:
    shared_endpoint.endpoint.flush_capture()
    before = len(read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT))
    assert (
        post(shared_endpoint.port, "/invocations", csv_body(validation_features(7)), {"Content-Type": "text/csv"})[0]
        == 200
    )
    deadline = time.monotonic() + 10
    while len(read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT)) < before + 7:
        assert time.monotonic() < deadline, "the capture reader wrote nothing for 10 s"
        time.sleep(0.02)


# --- capture batches --------------------------------------------------------------------------------


def test_capture_batcher_splits_hours_counts_malformed_lines_and_ignores_other_output(tmp_path: Path) -> None:
    logged: list[str] = []
    batcher = CaptureBatcher(tmp_path, "ep", logged.append)
    record = (
        '{"v":1,"ts":"2026-11-26T10:59:59.999Z","request_id":"r","model_id":"m","i":0,"n":2,"x":[1.5,null],"score":0.5}'
    )
    assert batcher.offer("[2026-11-26 10:00:00 +0000] [7] [INFO] Booting worker with pid: 7") is False
    assert batcher.offer('MLOPS_CAPTURE {"v":1, "ts": truncated') is True
    assert batcher.offer(f"2026-11-26 [INFO ] model-stdout MLOPS_CAPTURE {record}")
    assert batcher.offer("MLOPS_CAPTURE " + record.replace("10:59:59.999", "11:00:00.000").replace('"i":0', '"i":1'))
    assert batcher.write("batch-1") == 2 and batcher.write("batch-2") == 0
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert [path.relative_to(tmp_path).as_posix() for path in files] == [
        "capture/ep/2026/11/26/10/batch-1.jsonl",
        "capture/ep/2026/11/26/11/batch-1.jsonl",
    ]
    assert json.loads(files[0].read_text())["x"] == [1.5, None]
    assert batcher.malformed_lines == 1 and "malformed" in logged[0]


def test_a_capture_write_that_fails_is_reported_and_loses_nothing(tmp_path: Path) -> None:
    rows = validation_features(5)
    with LocalEndpoint(trained_model().model_tar, capture_dir=tmp_path, log=lambda line: None) as endpoint:
        (tmp_path / "capture").write_text("a file where the capture directory should be\n")
        assert post(endpoint.port, "/invocations", csv_body(rows), {"Content-Type": "text/csv"})[0] == 200
        with pytest.raises(LocalEndpointError, match="writing capture files failed"):
            endpoint.flush_capture()
        (tmp_path / "capture").unlink()
        assert endpoint.flush_capture() == 5
    assert len(read_capture(tmp_path, "local-endpoint")) == 5


# --- start, stop and what is refused at start ---------------------------------------------------------


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def endpoint_processes(endpoint: LocalEndpoint) -> dict[int, str]:
    """The endpoint's own processes: the front end and the container's launcher, and theirs."""
    found = {}
    for pid in endpoint.pids:
        found[pid] = cmdline(pid) or ""
        found.update(snapshot(pid))
    return found


def test_stopping_the_endpoint_ends_every_process_cleanly_and_frees_the_port() -> None:
    running = LocalEndpoint(trained_model().model_tar, log=lambda line: None).start()
    port = running.port
    processes = endpoint_processes(running)
    assert any("gunicorn" in command for command in processes.values())
    assert not port_is_free(port)
    running.stop()
    assert running.exit_code == 0
    assert still_running(processes, within_s=5) == {}
    assert port_is_free(port)


class SignalledDuringStart(LocalEndpoint):
    """A real endpoint that receives SIGTERM (as `mlops serve` handles it) while it waits for /ping."""

    def _wait_until_ready(self, deadline: float) -> None:
        # A child just forked still shows the parent's command line until it execs: wait for it.
        launched = time.monotonic() + 10
        processes = endpoint_processes(self)
        while not any("image_serving" in command for command in processes.values()) and time.monotonic() < launched:
            time.sleep(0.05)
            processes = endpoint_processes(self)
        self.seen = (processes, self.port, self._scratch)
        signal.raise_signal(signal.SIGTERM)
        super()._wait_until_ready(deadline)


def test_an_interrupted_start_stops_everything_frees_the_port_and_removes_its_files() -> None:
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        starting = SignalledDuringStart(trained_model().model_tar, log=lambda line: None)
        with pytest.raises(KeyboardInterrupt):
            starting.start()
    finally:
        signal.signal(signal.SIGTERM, previous)
    processes, port, scratch = starting.seen
    assert any("image_serving" in command for command in processes.values())
    assert still_running(processes, within_s=5) == {}
    assert port_is_free(port)
    assert scratch is not None and not scratch.exists()


def test_an_endpoint_name_or_port_sagemaker_would_refuse_is_refused() -> None:
    with pytest.raises(LocalEndpointError, match="letters, digits or hyphens"):
        LocalEndpoint(trained_model().model_tar, endpoint_name="my_endpoint")
    with pytest.raises(LocalEndpointError, match="port must be from 0 to 65535"):
        LocalEndpoint(trained_model().model_tar, port=70000)


def test_a_port_in_use_is_one_line_and_nothing_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = snapshot(os.getpid())
        with pytest.raises(LocalEndpointError) as raised:
            LocalEndpoint(trained_model().model_tar, port=port).start()
    assert str(raised.value) == (
        f"port {port} is in use on 127.0.0.1: stop what listens there, or pick another port (0 picks a free one)"
    )
    assert snapshot(os.getpid()).keys() <= before.keys()


def test_a_broken_model_artifact_fails_start_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(LocalEndpointError, match="cannot read model artifact"):
        LocalEndpoint(broken).start()


def bomb(path: Path, announced: int) -> Path:
    """A small model.tar.gz whose one member announces `announced` bytes (what a gzip bomb's header says)."""
    info = tarfile.TarInfo("model.ubj")
    info.size = announced
    with gzip.open(path, "wb") as handle:
        handle.write(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 65536)
    return path


def test_an_archive_that_would_unpack_to_more_than_the_limit_is_refused_before_writing(tmp_path: Path) -> None:
    archive = bomb(tmp_path / "model.tar.gz", 2**30)
    assert archive.stat().st_size < 10_000
    with pytest.raises(LocalEndpointError, match=r"unpacks to more than 512\.0 MiB \('model.ubj' alone is 1\.0 GiB\)"):
        LocalEndpoint(archive, log=lambda line: None).start()
    target = tmp_path / "target"
    with pytest.raises(ModelArchiveError):
        extract_model(archive, target)
    assert not target.exists() or not any(target.rglob("*"))


def test_the_size_limit_counts_every_member_and_a_model_within_it_unpacks(tmp_path: Path) -> None:
    model_tar = trained_model().model_tar
    unpacked = sum(path.stat().st_size for path in extracted_model().iterdir())
    with pytest.raises(ModelArchiveError, match="unpacks to more than"):
        extract_model(model_tar, tmp_path / "small", max_bytes=unpacked - 1)
    assert extract_model(model_tar, tmp_path / "fits", max_bytes=unpacked) == unpacked


def test_an_unwritable_capture_dir_fails_at_start_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    before = snapshot(os.getpid())
    with pytest.raises(LocalEndpointError) as raised:
        LocalEndpoint(trained_model().model_tar, capture_dir=blocker / "capture").start()
    assert str(raised.value).startswith(f"cannot write capture files under {blocker / 'capture'}: ")
    assert "\n" not in str(raised.value)
    assert snapshot(os.getpid()).keys() <= before.keys()


# --- `mlops serve` ------------------------------------------------------------------------------------

SERVE_SCRIPT = """
import argparse, sys
from mlops_cli import model_verbs
parser = argparse.ArgumentParser(prog="mlops")
model_verbs.register(parser.add_subparsers(dest="verb", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.run(args))
"""


def mlops_serve(capture_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """`mlops serve --local` on a free port; returns the process and its port once it serves."""
    command = [sys.executable, "-c", SERVE_SCRIPT, "serve", "--local", "--model", str(trained_model().model_tar)]
    command += ["--port", "0", "--capture-dir", str(capture_dir), "--endpoint-name", SHARED_ENDPOINT]
    command += ["--log-file", str(capture_dir / "serve.log"), *extra]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert process.stdout.readline() == f"model container log: {capture_dir / 'serve.log'}\n"
    match = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
    assert match, banner + process.stderr.read() if process.stderr else banner
    return process, int(match.group(1))


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_mlops_serve_captures_and_exits_cleanly_on_a_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    process, port = mlops_serve(tmp_path)
    try:
        client = runtime_client(f"http://127.0.0.1:{port}")
        client.invoke_endpoint(
            EndpointName=SHARED_ENDPOINT, ContentType="text/csv", Body=csv_body(validation_features(4))
        )
        children = snapshot(process.pid)
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "captured 4 records" in out
    assert "Traceback" not in err
    assert "Booting worker" in (tmp_path / "serve.log").read_text()  # gunicorn's own log, kept there
    assert len(read_capture(tmp_path, SHARED_ENDPOINT)) == 4
    assert still_running(children, within_s=5) == {}
    assert port_is_free(port)


def endpoint_directory(processes: dict[int, str]) -> Path:
    """The endpoint's own directory: where the model container runs."""
    (launcher,) = [pid for pid, command in processes.items() if command.endswith("-m image_serving")]
    return Path(os.readlink(f"/proc/{launcher}/cwd"))


def spool_released(capture_dir: Path, within_s: float) -> bool:
    """No process holds the lock of the spool in `capture_dir` any more."""
    (spool,) = (capture_dir / ".spool").glob("*.log")
    deadline = time.monotonic() + within_s
    with spool.open("rb") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return True


def test_killing_mlops_serve_ends_its_children_and_no_answered_row_goes_uncaptured(tmp_path: Path) -> None:
    process, port = mlops_serve(tmp_path)
    rows = 0
    try:
        client = runtime_client(f"http://127.0.0.1:{port}")
        for size in (1, 10, 100, 300):
            body = csv_body(validation_features(size))
            client.invoke_endpoint(EndpointName=SHARED_ENDPOINT, ContentType="text/csv", Body=body)
            rows += size
        children = snapshot(process.pid)
        assert any("gunicorn" in command for command in children.values())
        scratch = endpoint_directory(children)
        process.kill()  # SIGKILL, the moment after the last answer
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    assert still_running(children, within_s=20) == {}
    assert port_is_free(port)
    assert spool_released(tmp_path, within_s=20)  # by every process of the killed run
    assert not scratch.exists()
    # The next endpoint on the same capture directory finishes what the killed one left in its spool,
    # first thing at start (this one then fails on its artifact).
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(LocalEndpointError, match="cannot read model artifact"):
        LocalEndpoint(broken, capture_dir=tmp_path, endpoint_name=SHARED_ENDPOINT, log=lambda line: None).start()
    records = read_capture(tmp_path, SHARED_ENDPOINT)
    assert len(records) == rows
    assert len({(r["request_id"], r["i"]) for r in records}) == rows  # nothing twice
    assert not list((tmp_path / ".spool").glob("*.log"))


def test_killing_mlops_serve_while_the_container_starts_leaves_nothing_running(tmp_path: Path) -> None:
    command = [sys.executable, "-c", SERVE_SCRIPT, "serve", "--local", "--model", str(trained_model().model_tar)]
    command += ["--port", "0", "--log-file", str(tmp_path / "serve.log")]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        children: dict[int, str] = {}
        while not all(any(name in c for c in children.values()) for name in ("image_serving", "runtime_front")):
            assert time.monotonic() < deadline and process.poll() is None, "the container never started"
            time.sleep(0.05)
            children = snapshot(process.pid)
        scratch = endpoint_directory(children)
        process.kill()  # while the toolkit installs the sourcedir or gunicorn boots
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    # The front end and the container each lead a session: whatever they started since is in it.
    sessions = {pid for pid, command in children.items() if "image_serving" in command or "runtime_front" in command}
    assert len(sessions) == 2
    assert sessions_ended(sessions, within_s=20) == set()
    assert not scratch.exists()


@pytest.mark.parametrize(
    ("port", "message"),
    [("70000", "argument --port: must be from 0 to 65535 (0 picks a free one), got 70000"), ("http", "whole number")],
)
def test_mlops_serve_refuses_a_port_out_of_range_in_one_line(tmp_path: Path, port: str, message: str) -> None:
    command = [sys.executable, "-c", SERVE_SCRIPT, "serve", "--local", "--model", str(trained_model().model_tar)]
    result = subprocess.run([*command, "--port", port], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_mlops_serve_reports_a_port_in_use_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-c", SERVE_SCRIPT, "serve", "--local", "--model", str(trained_model().model_tar)]
        result = subprocess.run([*command, "--port", str(port)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"mlops serve: port {port} is in use on 127.0.0.1: stop what listens there, or pick another port "
        "(0 picks a free one)"
    )


def test_a_spool_left_by_a_killed_run_is_recovered_once(tmp_path: Path) -> None:
    """The recovery itself, on a spool as a killed run leaves it: lines after the state's offset, a cut last line."""
    spool_dir = tmp_path / ".spool"
    spool_dir.mkdir()
    record = (
        '{"v":1,"ts":"2026-11-26T10:00:00.000Z","request_id":"r","model_id":"m","i":%d,"n":3,"x":[1.0],"score":0.5}'
    )
    done = f"MLOPS_CAPTURE {record % 0}\n".encode()
    rest = f"MLOPS_CAPTURE {record % 1}\nlog line\nMLOPS_CAPTURE {record % 2}\n".encode()
    (spool_dir / "ep-run.log").write_bytes(done + rest + b'MLOPS_CAPTURE {"v":1,')
    (spool_dir / "ep-run.log.state").write_text(json.dumps({"endpoint": "ep", "offset": len(done)}))
    from local.capture_files import recover_spools

    logged: list[str] = []
    assert recover_spools(tmp_path, logged.append) == 2
    assert sorted(r["i"] for r in read_capture(tmp_path, "ep")) == [1, 2]
    assert any("ends inside a line" in line for line in logged)
    assert recover_spools(tmp_path, logged.append) == 0
    assert not any(spool_dir.iterdir())
