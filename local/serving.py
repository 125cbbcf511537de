"""The local endpoint: model_code/inference.py served by the XGBoost 3.0-5 image's own serving stack.

`LocalEndpoint(model_tar)` does what SageMaker does for a serverless endpoint, on 127.0.0.1:

1. checks the capture directory and binds the port (either failure is one line, before anything
   starts), unpacks model.tar.gz within a size limit (`local.model_archive`) into its own
   SAGEMAKER_BASE_DIR tree;
2. starts the model container in the container environment (`local.container_env`): the glue
   mirroring the image's `serving` entry point installs the sourcedir with `sagemaker_containers`
   and runs gunicorn with the image's gevent worker, one worker, and the toolkit's Worker and
   Transformer around inference.py (local/container/image_serving.py);
3. starts the front end (`local.runtime_front`): nginx's routes to the container and the SageMaker
   Runtime's InvokeEndpoint route, so the boto3 `sagemaker-runtime` client works with `.url`;
4. waits until /ping answers 200, which in the image means the model is loaded.

The container's stdout (where the handler prints capture lines) is a spool file that a reader
thread turns into capture files under `capture_dir` (`local.capture_files`); its stderr goes to
`log`. Every child holds a lifeline to this process and stops when it dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from local.capture_files import SPOOL_DIR, CaptureError, CaptureSpool, check_capture_dir, recover_spools
from local.container_env import (
    LOCAL_REGION,
    REPO_ROOT,
    ContainerEnvMissing,
    Lifeline,
    container_bin,
    container_environment,
)
from local.model_archive import ModelArchiveError, extract_model
from local.runtime_front import DEFAULT_ENDPOINT_NAME
from monitoring.capture import ENDPOINT_NAME_PATTERN

STOP_TIMEOUT_S = 15.0
_STDERR_TAIL = 50


class LocalEndpointError(RuntimeError):
    """The local endpoint could not start or died; the message says why in one line."""


def _default_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def project_sourcedir() -> Path:
    """model_code/ as the storage stack uploads it (sourcedir.tar.gz): what the cloud's container downloads."""
    from mlops_core.staging import SOURCEDIR_ARCHIVE, sourcedir

    return sourcedir()[0] / SOURCEDIR_ARCHIVE


def serving_environment(
    model_tar: Path, submit_dir: Path, capture_percent: float, model_id: str | None = None
) -> dict[str, str]:
    """The model package's container environment (docs/contracts.md) for a local artifact and sourcedir."""
    from mlops_core.sagemaker_inputs import serving_environment as package_environment
    from mlops_core.sagemaker_inputs import with_model_id
    from mlops_core.settings import Settings

    environment = with_model_id(
        package_environment(Settings(), str(submit_dir), LOCAL_REGION), model_id or _model_id(model_tar)
    )
    environment["MLOPS_CAPTURE_PERCENT"] = f"{capture_percent:g}"
    return environment


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
        environment: Mapping[str, str] | None = None,
        submit_dir: str | Path | None = None,
        log: Callable[[str], None] = _default_log,
        startup_timeout_s: float = 120.0,
    ) -> None:
        """Set up, start nothing yet.

        `environment` is the model's container environment (default: the model package's, with
        capture at 100 % when `capture_dir` is set, else off); `submit_dir` replaces its
        SAGEMAKER_SUBMIT_DIRECTORY (a directory or a sourcedir.tar.gz; default: model_code/).
        """
        if not ENDPOINT_NAME_PATTERN.fullmatch(endpoint_name):
            raise LocalEndpointError(f"endpoint name must be 1-63 letters, digits or hyphens, got {endpoint_name!r}")
        if not 0 <= port <= 65535:
            raise LocalEndpointError(f"port must be from 0 to 65535 (0 picks a free one), got {port}")
        self.model_tar = Path(model_tar)
        self.endpoint_name = endpoint_name
        self.capture_dir = Path(capture_dir) if capture_dir is not None else None
        self.exit_code: int | None = None
        self._requested_port = port
        self._host = host
        self._environment = dict(environment) if environment is not None else None
        self._submit_dir = Path(submit_dir) if submit_dir is not None else None
        self._log = log
        self._startup_timeout_s = startup_timeout_s
        self._port: int | None = None
        self._scratch: Path | None = None
        self._spool: CaptureSpool | None = None
        self._lifeline: Lifeline | None = None
        self._container: subprocess.Popen[bytes] | None = None
        self._front: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._stderr_tail: list[str] = []

    @property
    def port(self) -> int:
        """The TCP port the front end listens on."""
        if self._port is None:
            raise LocalEndpointError("the endpoint is not running")
        return self._port

    @property
    def url(self) -> str:
        """Base URL: the container routes and the SageMaker Runtime route live under it."""
        return f"http://{self._host}:{self.port}"

    @property
    def captured_records(self) -> int:
        """Capture records written to files so far."""
        return self._spool.batcher.records_written if self._spool is not None else 0

    @property
    def malformed_lines(self) -> int:
        """Lines with the capture marker that were not valid capture records."""
        return self._spool.batcher.malformed_lines if self._spool is not None else 0

    @property
    def pids(self) -> list[int]:
        """The process ids of the front end and the model container's launcher."""
        return [p.pid for p in (self._front, self._container) if p is not None]

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalEndpoint:
        """Start the container and the front end, and wait until /ping answers 200.

        Whatever interrupts the start (a failure, Ctrl-C, SIGTERM turned into KeyboardInterrupt)
        stops what was started first, so no child process, bound port or scratch directory is left.
        """
        if self._container is not None:
            raise LocalEndpointError("the endpoint is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if self.capture_dir is not None:
            try:
                check_capture_dir(self.capture_dir)
            except CaptureError as exc:
                raise LocalEndpointError(str(exc)) from None
            recover_spools(self.capture_dir, self._log)
        try:
            python = container_bin("python")
        except ContainerEnvMissing as exc:
            raise LocalEndpointError(str(exc)) from None
        # The port is bound first, so that a port in use fails before anything starts; the front
        # end inherits the socket.
        with self._bind() as listener:
            self._scratch = Path(tempfile.mkdtemp(prefix="mlops-endpoint-"))
            base_dir = self._scratch / "ml"
            try:
                extract_model(self.model_tar, base_dir / "model")
            except ModelArchiveError as exc:
                raise LocalEndpointError(str(exc)) from None
            spool_dir = self.capture_dir / SPOOL_DIR if self.capture_dir is not None else self._scratch
            try:
                self._spool = CaptureSpool(spool_dir, self.capture_dir, self.endpoint_name, self._log)
            except OSError as exc:
                raise LocalEndpointError(f"cannot write the capture spool in {spool_dir}: {exc.strerror}") from None
            self._lifeline = Lifeline()
            container_socket = str(self._scratch / "gunicorn.sock")
            extra = {**self._container_environment(), "MLOPS_CONTAINER_SOCKET": container_socket}
            self._container = subprocess.Popen(
                [str(python), "-m", "image_serving"],
                env=container_environment(base_dir, extra, self._lifeline.read_fd),
                cwd=self._scratch,
                stdin=subprocess.DEVNULL,
                stdout=self._spool.write_fd,
                stderr=subprocess.PIPE,
                pass_fds=(self._lifeline.read_fd,),
                start_new_session=True,  # Ctrl-C reaches `mlops serve` only, which stops us in order
            )
            self._front = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "local.runtime_front",
                    f"--listen-fd={listener.fileno()}",
                    f"--container-socket={container_socket}",
                    f"--endpoint-name={self.endpoint_name}",
                    f"--lifeline-fd={self._lifeline.read_fd}",
                    # If this process dies, the front end ends the container and removes its directory.
                    f"--container-group={self._container.pid}",
                    f"--endpoint-dir={self._scratch}",
                ],
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(), self._lifeline.read_fd),
                start_new_session=True,
            )
        for name, stream in (("container", self._container.stderr), ("front end", self._front.stdout)):
            thread = threading.Thread(target=self._read_output, args=(stream,), name=f"{name}-output", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._wait_until_ready(time.monotonic() + self._startup_timeout_s)

    def _container_environment(self) -> dict[str, str]:
        submit_dir = self._submit_dir or project_sourcedir()
        if self._environment is None:
            return serving_environment(self.model_tar, submit_dir, 100 if self.capture_dir is not None else 0)
        return {**self._environment, "SAGEMAKER_SUBMIT_DIRECTORY": str(submit_dir)}

    def _bind(self) -> socket.socket:
        """The listening socket, bound here so that a port in use is one clear line."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._requested_port))
            listener.listen(1024)
        except OSError as exc:
            listener.close()
            where = f"{self._host}:{self._requested_port}"
            if exc.errno == errno.EADDRINUSE:
                raise LocalEndpointError(
                    f"port {self._requested_port} is in use on {self._host}: stop what listens there, "
                    "or pick another port (0 picks a free one)"
                ) from None
            raise LocalEndpointError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        self._port = listener.getsockname()[1]
        return listener

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll /ping through the front end: 200 once the model is loaded (the app is built on the first request)."""
        while True:
            for name, process in (("model container", self._container), ("front end", self._front)):
                assert process is not None
                if process.poll() is not None:
                    raise LocalEndpointError(f"the {name} exited with code {process.returncode}: {self._last_error()}")
            status = self._ping()
            if status == 200:
                return
            if status is not None and status >= 500 and status not in (502, 504):
                raise LocalEndpointError(f"the model server cannot load the model: {self._last_error()}")
            if time.monotonic() > deadline:
                raise LocalEndpointError(
                    f"the model server did not answer /ping within {self._startup_timeout_s:g} s: {self._last_error()}"
                )
            time.sleep(0.05)

    def _ping(self) -> int | None:
        connection = http.client.HTTPConnection(self._host, self.port, timeout=30)
        try:
            connection.request("GET", "/ping")
            return connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()

    def _last_error(self, wait_s: float = 3.0) -> str:
        """The last line of the container's output that names an error (waiting a moment for it), else its last line."""
        deadline = time.monotonic() + wait_s
        while True:
            lines = [line.strip() for line in self._stderr_tail if line.strip()]
            for line in reversed(lines):
                head = line.split(":", 1)[0]
                if head.endswith(("Error", "Exception", "Exit")) and " " not in head:
                    return line
            if time.monotonic() > deadline:
                return lines[-1] if lines else "no output"
            time.sleep(0.05)

    def _read_output(self, stream: object) -> None:
        assert hasattr(stream, "readline")
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stderr_tail = [*self._stderr_tail[-(_STDERR_TAIL - 1) :], line]
            self._log(line)

    def flush_capture(self, timeout_s: float = 10.0) -> int:
        """Write every capture line the handler has printed so far; returns the records written in total.

        The handler prints a request's capture lines before it answers, so once a response has
        arrived, its rows are in files when this returns.
        """
        if self._spool is None:
            return 0
        try:
            return self._spool.flush(timeout_s)
        except CaptureError as exc:
            raise LocalEndpointError(str(exc)) from None

    def wait(self) -> int:
        """Block until the container or the front end exits; returns its exit code."""
        while True:
            for process in (self._container, self._front):
                if process is None:
                    raise LocalEndpointError("the endpoint is not running")
                if process.poll() is not None:
                    return process.returncode
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the front end, then the container (SIGTERM, SIGKILL after a grace period); write the last capture."""
        for process in (self._front, self._container):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self._front, self._container):
            if process is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT_S)
            # Each child leads a session of its own: whatever is left in it (a worker that does not
            # stop, a pip still installing when the stop came) goes with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._container is not None:
            self.exit_code = self._container.returncode
        for thread in self._threads:
            thread.join(timeout=10)
        for process in (self._front, self._container):
            for stream in (process.stdout, process.stderr) if process is not None else ():
                if stream is not None:
                    stream.close()
        if self._spool is not None:
            self._spool.close()
        if self._lifeline is not None:
            self._lifeline.close()
        self._front = self._container = None
        self._lifeline = None
        self._port = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _model_id(model_tar: Path) -> str:
    """A stable id for a local model: its artifact's content hash (the cloud uses the job name)."""
    digest = hashlib.sha256(model_tar.read_bytes()).hexdigest()
    return f"local-{digest[:12]}"
