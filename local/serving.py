"""The local endpoint: a model server child process plus a capture writer reading its stdout.

`LocalEndpoint(model_tar)` extracts the artifact, starts `local.model_server` (one worker on
127.0.0.1) with the hosting environment the model package sets in the cloud, and waits for it
to answer /ping. Like the CloudWatch agent shipping the container's stdout, a reader thread
takes every line the server prints: capture lines (`MLOPS_CAPTURE {...}`) are parsed with the
same `monitoring.capture` functions the cloud's capture Lambda uses and written under
`capture_dir` in the S3 layout (`capture/<endpoint>/YYYY/MM/DD/HH/<batch>.jsonl`); other lines
pass through to `log`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from local.capture_files import CaptureBatcher
from local.model_server import DEFAULT_ENDPOINT_NAME, LOCAL_REGION, READY_MARKER
from local.training import MODEL_CODE_DIR
from monitoring.capture import ENDPOINT_NAME_PATTERN

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_PENDING_RECORDS = 5_000  # write a capture batch at this size even while traffic continues (~50 ms of work)
FLUSH_INTERVAL_S = 1.0  # and at the latest this long after its first record, once the pipe is idle
_READ_POLL_S = 0.05
PIPE_BYTES = 1 << 20


class LocalEndpointError(RuntimeError):
    """The local model server could not start or died; the message holds its last output."""


def _default_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LocalEndpoint:
    """A running local endpoint; use as a context manager. `.url` is the boto3 `endpoint_url`."""

    def __init__(
        self,
        model_tar: str | Path,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        capture_dir: str | Path | None = None,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
        capture_percent: float | None = None,
        model_id: str | None = None,
        code_dir: str | Path = MODEL_CODE_DIR,
        log: Callable[[str], None] = _default_log,
        startup_timeout_s: float = 60.0,
    ) -> None:
        if not ENDPOINT_NAME_PATTERN.fullmatch(endpoint_name):
            raise LocalEndpointError(f"endpoint name must be 1-63 letters, digits or hyphens, got {endpoint_name!r}")
        self.model_tar = Path(model_tar)
        self.endpoint_name = endpoint_name
        self.capture_dir = Path(capture_dir) if capture_dir is not None else None
        self.exit_code: int | None = None
        self._requested_port = port
        self._host = host
        self._capture_percent = capture_percent if capture_percent is not None else (100 if capture_dir else 0)
        self._model_id = model_id
        self._code_dir = Path(code_dir)
        self._log = log
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._scratch: str | None = None
        self._port: int | None = None
        self._ready = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stderr_tail: list[str] = []
        self._capture = CaptureBatcher(self.capture_dir, endpoint_name, log)
        self._flush_lock = threading.Condition()
        self._flush_requested = 0
        self._flush_done = 0

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise LocalEndpointError("the endpoint is not running")
        return self._port

    @property
    def captured_records(self) -> int:
        """Capture records written to files so far."""
        return self._capture.records_written

    @property
    def malformed_lines(self) -> int:
        """Lines with the capture marker that were not valid capture records."""
        return self._capture.malformed_lines

    @property
    def url(self) -> str:
        """Base URL: the container routes and the SageMaker Runtime route live under it."""
        return f"http://{self._host}:{self.port}"

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalEndpoint:
        """Extract the model, start the server and wait until /ping answers 200.

        Whatever interrupts the start (a failure, Ctrl-C, SIGTERM turned into KeyboardInterrupt)
        stops the server first, so no child process, bound port or scratch directory is left.
        """
        if self._process is not None:
            raise LocalEndpointError("the endpoint is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._scratch = tempfile.mkdtemp(prefix="mlops-local-endpoint-")
        model_dir = Path(self._scratch) / "model"
        try:
            with tarfile.open(self.model_tar, "r:gz") as archive:
                archive.extractall(model_dir, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise LocalEndpointError(f"cannot read model artifact {self.model_tar}: {exc}") from None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "MLOPS_", "PYTHONPATH"))}
        env.update(
            {
                # The hosting environment of the model package (docs/contracts.md).
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": str(self._code_dir.resolve()),
                "SAGEMAKER_REGION": LOCAL_REGION,
                "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json",
                "MLOPS_CAPTURE_PERCENT": str(self._capture_percent),
                "MLOPS_MODEL_ID": self._model_id or _model_id(self.model_tar),
                "PYTHONPATH": str(REPO_ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        command = [
            sys.executable,
            "-m",
            "local.model_server",
            "--model-dir",
            str(model_dir),
            "--code-dir",
            str(self._code_dir.resolve()),
            "--host",
            self._host,
            "--port",
            str(self._requested_port),
            "--endpoint-name",
            self.endpoint_name,
        ]
        self._process = subprocess.Popen(
            command,
            env=env,
            cwd=self._scratch,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        _enlarge_pipe(self._process.stdout.fileno())
        self._threads = [
            threading.Thread(target=self._read_stdout, name="capture-reader", daemon=True),
            threading.Thread(target=self._read_stderr, name="stderr-reader", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._ready.wait(0.02):
            if self._process.poll() is not None or time.monotonic() > deadline:
                reason = "exited" if self._process.poll() is not None else "did not start in time"
                self.stop()  # first, so that the stderr reader has taken the last lines
                tail = "\n".join(self._stderr_tail[-15:])
                raise LocalEndpointError(f"local model server {reason}:\n{tail}")
        self._wait_for_ping(deadline)

    def _wait_for_ping(self, deadline: float) -> None:
        while True:
            try:
                connection = http.client.HTTPConnection(self._host, self.port, timeout=2)
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
                connection.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LocalEndpointError("local model server does not answer /ping")
            time.sleep(0.02)

    def flush_capture(self, timeout_s: float = 10.0) -> int:
        """Write every capture line the server has printed so far; returns the records written in total.

        The handler prints a request's capture lines before answering it, so after a response
        arrives its lines are in the pipe: this waits until the reader has drained the pipe.
        """
        if self._process is None or not self._threads[0].is_alive():
            return self.captured_records
        with self._flush_lock:
            self._flush_requested += 1
            ticket = self._flush_requested
            if not self._flush_lock.wait_for(lambda: self._flush_done >= ticket, timeout_s):
                raise LocalEndpointError(f"capture was not flushed within {timeout_s} s")
        if self._capture.last_error is not None:
            raise LocalEndpointError(f"writing capture files failed: {self._capture.last_error}")
        return self.captured_records

    def wait(self) -> int:
        """Block until the server process exits; returns its exit code."""
        if self._process is None:
            raise LocalEndpointError("the endpoint is not running")
        return self._process.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s), write the last capture batch, clean up."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.exit_code = process.returncode
            for thread in self._threads:
                if thread.ident is not None:  # an interrupted start may not have started it
                    thread.join(timeout=10)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        self._process = None
        self._port = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # --- the reader threads -------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        buffer = b""
        while True:
            # Take the flush ticket before polling: a pipe found idle afterwards proves that every
            # line printed before that ticket was requested has been handled. Read after the poll,
            # the ticket could cover lines printed in between, still unread.
            with self._flush_lock:
                requested = self._flush_requested
            readable, _, _ = select.select([fd], [], [], _READ_POLL_S)
            if readable:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._handle_line_safely(line.decode("utf-8", "replace"))
                if self._capture.pending >= MAX_PENDING_RECORDS:
                    self._capture.write()
                continue
            # The pipe is idle: everything the server printed before `requested` has been handled.
            if requested > self._flush_done or self._capture.pending_age_s >= FLUSH_INTERVAL_S:
                self._capture.write()
            self._mark_flushed(requested)
        if buffer:
            self._handle_line_safely(buffer.decode("utf-8", "replace"))
        self._capture.write()
        self._mark_flushed(None)

    def _mark_flushed(self, requested: int | None) -> None:
        with self._flush_lock:
            self._flush_done = self._flush_requested if requested is None else requested
            self._flush_lock.notify_all()

    def _handle_line_safely(self, line: str) -> None:
        # The reader must keep draining the pipe whatever happens, or the server blocks on it.
        try:
            self._handle_line(line)
        except Exception as exc:
            self._log(f"capture reader: {type(exc).__name__}: {exc}")

    def _handle_line(self, line: str) -> None:
        if line.startswith(READY_MARKER):
            self._port = int(line.rpartition("port=")[2])
            self._ready.set()
        elif not self._capture.offer(line):
            self._log(line)

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stderr_tail = [*self._stderr_tail[-49:], line]
            self._log(line)


def _enlarge_pipe(fd: int) -> None:
    """Make the server's stdout pipe hold a 1000-row request's capture (~250 KB) at once.

    With Linux's default 64 KB, the server would wait for the reader to parse the lines before
    it could answer the request; with 1 MB it answers at once and the parsing overlaps.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, set_size, PIPE_BYTES)


def _model_id(model_tar: Path) -> str:
    """A stable id for a local model: its artifact's content hash (the cloud uses the job name)."""
    digest = hashlib.sha256(model_tar.read_bytes()).hexdigest()
    return f"local-{digest[:12]}"
