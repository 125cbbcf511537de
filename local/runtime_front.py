"""The local endpoint's front end: what SageMaker puts between a client and the model container.

The model container (local/container/image_serving.py) serves on a unix socket, as gunicorn does
behind nginx inside the XGBoost image. This process listens on TCP and plays the two parts in
front of it:

- the image's nginx (sagemaker_containers/etc/nginx.conf.template): paths starting with `/ping`,
  `/invocations` or `/execution-parameters` go to the container, whose answer comes back
  unchanged; any other path is a 404 with body `{}`; a container that cannot be reached is a 502
  and one that does not answer within the model server timeout a 504, as nginx answers them;
- the SageMaker Runtime service, for `POST /endpoints/<name>/invocations` (InvokeEndpoint), so the
  unmodified boto3 `sagemaker-runtime` client works with `endpoint_url`: a 2xx from the container
  is a 200 with `x-Amzn-Invoked-Production-Variant`; any other answer is a 424 `ModelError` with
  `OriginalStatusCode` and the container's body as `OriginalMessage` (botocore's service model);
  an unknown endpoint name is a 400 `ValidationError`.

Requests over InvokeEndpoint's 6 MB body limit are refused with 413 before they are read (the
image's nginx sets no limit; nothing on SageMaker can send more). Idle or half-sent connections
wait in waitress's event loop without holding a worker thread, so they never block /ping.

Run as `python -m local.runtime_front` by `local.serving.LocalEndpoint`, which binds the listening
socket itself (a port in use fails there, with one line) and passes it with its lifeline. If the
endpoint's process dies, this process is the one left to end the model container (it runs in a
process group of its own) and to remove the endpoint's directory; then it stops too.
"""

from __future__ import annotations

import argparse
import http
import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from local.container_env import LOCAL_ACCOUNT, LOCAL_REGION, end_group_and_remove

VARIANT_NAME = "AllTraffic"
DEFAULT_ENDPOINT_NAME = "local-endpoint"
MAX_BODY_BYTES = 6_291_456  # InvokeEndpoint's BodyBlob limit (botocore sagemaker-runtime service model)
MODEL_SERVER_TIMEOUT_S = 60  # SAGEMAKER_MODEL_SERVER_TIMEOUT's default: nginx's proxy_read_timeout
THREADS = 16  # requests in flight to the container; idle connections hold none
CONNECTION_LIMIT = 512
IDLE_TIMEOUT_S = 60  # nginx's default client_header_timeout
CONTAINER_GRACE_S = 15.0  # for the container to stop gunicorn by itself (it allows its workers 10 s)
_CONTAINER_PATHS = re.compile(r"^/(ping|invocations|execution-parameters)")  # nginx's `location ~`
_RUNTIME_ROUTE = re.compile(r"^/endpoints/([^/]+)/invocations$")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer", "host"}
_RUNTIME_HEADERS = ("content-type", "accept", "x-amzn-sagemaker-custom-attributes")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over the container's unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


Answer = tuple[int, list[tuple[str, str]], bytes]


class RuntimeFront:
    """The WSGI application: nginx's routes to the container, and the Runtime's InvokeEndpoint route."""

    def __init__(self, container_socket: str, endpoint_name: str, timeout_s: float = MODEL_SERVER_TIMEOUT_S) -> None:
        self._socket = container_socket
        self._endpoint_name = endpoint_name
        self._timeout_s = timeout_s

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        path = environ.get("PATH_INFO", "")
        runtime = _RUNTIME_ROUTE.match(path)
        if runtime is None:
            if not _CONTAINER_PATHS.match(path):
                return _respond(start_response, 404, [("Content-Type", "application/octet-stream")], b"{}")
            status, headers, body = self.container(environ["REQUEST_METHOD"], _target(environ), environ)
            return _respond(start_response, status, headers, body)
        if environ["REQUEST_METHOD"] != "POST":
            return _runtime_error(start_response, 405, "UnknownOperationException", {"message": "use POST"})
        if runtime.group(1) != self._endpoint_name:
            message = f"Endpoint {runtime.group(1)} of account {LOCAL_ACCOUNT} not found."
            return _runtime_error(start_response, 400, "ValidationError", {"message": message})
        status, headers, body = self.container("POST", "/invocations", environ, only=_RUNTIME_HEADERS)
        request_id = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if 200 <= status < 300:
            kept = [(k, v) for k, v in headers if k.lower() in ("content-type", "x-amzn-sagemaker-custom-attributes")]
            extra = [("x-Amzn-Invoked-Production-Variant", VARIANT_NAME), *request_id]
            return _respond(start_response, 200, kept + extra, body)
        original = body.decode("utf-8", "replace")
        kind = "client" if status < 500 else "server"
        log_group = f"/aws/sagemaker/Endpoints/{self._endpoint_name}"
        error = {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:log-group:{log_group}",
            "Message": f'Received {kind} error ({status}) from primary with message "{original}". '
            f"See the local endpoint's log for more information.",
            "OriginalMessage": original,
            "OriginalStatusCode": status,
        }
        return _runtime_error(start_response, 424, "ModelError", error, request_id)

    def container(
        self, method: str, target: str, environ: dict[str, Any], only: tuple[str, ...] | None = None
    ) -> Answer:
        """Send the request to the container; its answer, or nginx's 502/504 when there is none."""
        headers = {
            name: value
            for name, value in _request_headers(environ)
            if name.lower() not in _HOP_BY_HOP and (only is None or name.lower() in only)
        }
        body = _read_body(environ)
        connection = _UnixConnection(self._socket, self._timeout_s)
        try:
            connection.request(method, target, body=body if method not in ("GET", "HEAD") else None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}]
            return response.status, kept, payload
        except TimeoutError:
            return 504, [("Content-Type", "text/html")], b"<html><body><h1>504 Gateway Time-out</h1></body></html>\n"
        except (OSError, http.client.HTTPException):
            return 502, [("Content-Type", "text/html")], b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
        finally:
            connection.close()


def _target(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING")
    return environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    return stream.read(int(length)) if length else stream.read()


def _request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """HTTP headers with their usual spelling (Content-Type, Accept, X-Amzn-...)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        headers.append(("-".join(part.capitalize() for part in name.split("_")), value))
    return headers


def _respond(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    start_response(f"{status} {phrase}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _runtime_error(
    start_response: StartResponse,
    status: int,
    error_type: str,
    fields: dict[str, Any],
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type), *(extra or [])]
    return _respond(start_response, status, headers, json.dumps(fields).encode("utf-8"))


def _stop(signum: int, frame: FrameType | None) -> None:
    # waitress's run loop treats SystemExit as "shut the task threads down and return".
    raise SystemExit(0)


def _watch_lifeline(fd: int, container_group: int | None, endpoint_dir: Path | None) -> None:
    """Once the endpoint's process is gone (the pipe's write end closed): reap what it left, then stop.

    A clean stop ends the container and removes the directory first, so then there is nothing left.
    """
    while os.read(fd, 1):
        pass
    if container_group is not None and endpoint_dir is not None:
        end_group_and_remove(container_group, endpoint_dir, CONTAINER_GRACE_S)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Serve on the inherited listening socket until SIGTERM, SIGINT or the lifeline's end."""
    parser = argparse.ArgumentParser(prog="python -m local.runtime_front", description=__doc__.splitlines()[0])
    parser.add_argument("--listen-fd", type=int, required=True, help="the bound TCP socket, inherited")
    parser.add_argument("--container-socket", required=True, help="the model container's unix socket")
    parser.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME)
    parser.add_argument("--lifeline-fd", type=int, help="read end of the endpoint's lifeline pipe")
    parser.add_argument("--container-group", type=int, help="the container's process group, ended if the endpoint dies")
    parser.add_argument("--endpoint-dir", type=Path, help="the endpoint's directory, removed if the endpoint dies")
    args = parser.parse_args(argv)

    import waitress

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.lifeline_fd is not None:
        watch = (args.lifeline_fd, args.container_group, args.endpoint_dir)
        threading.Thread(target=_watch_lifeline, args=watch, daemon=True).start()
    listener = socket.socket(fileno=args.listen_fd)
    server = waitress.create_server(
        RuntimeFront(args.container_socket, args.endpoint_name),
        sockets=[listener],
        threads=THREADS,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT_S,
        asyncore_use_poll=True,  # select() stops at 1024 descriptors
        max_request_body_size=MAX_BODY_BYTES,
        ident="mlops-local-endpoint",
        clear_untrusted_proxy_headers=True,
    )
    try:
        server.run()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
