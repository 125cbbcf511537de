"""The local model server process: SageMaker's serving contract on 127.0.0.1, one worker.

Run as `python -m local.model_server --model-dir DIR --code-dir DIR` (LocalEndpoint does this).
Like the XGBoost container in script mode, it imports the user module named by SAGEMAKER_PROGRAM
from the submit directory, loads the model once at start (MMS calls the handler service's
`initialize` when the worker starts) and dispatches every request through sagemaker_inference's
real `Transformer`, so status codes and bodies are the container's.

Routes:
- `GET /ping`: 200 once the model is loaded.
- `POST /invocations`: the container's own answer (200, or the handler error's 4xx/5xx).
- `POST /endpoints/<name>/invocations`: what the SageMaker Runtime front end answers, so the
  unmodified boto3 `sagemaker-runtime` client works with `endpoint_url`: 200 with
  `x-Amzn-Invoked-Production-Variant`, or, when the container answered 4xx/5xx, a 424
  `ModelError` carrying `OriginalStatusCode` and `OriginalMessage` (botocore's service model);
  an unknown endpoint name is a 400 `ValidationError`.

The handler's capture lines go to this process's stdout, which LocalEndpoint reads.
"""

from __future__ import annotations

import argparse
import http
import json
import os
import re
import signal
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

READY_MARKER = "MLOPS_LOCAL_ENDPOINT_READY"
VARIANT_NAME = "AllTraffic"
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "us-east-1"  # the region the local mode reports (training environment, endpoint, ARNs)
DEFAULT_ENDPOINT_NAME = "local-endpoint"
MAX_BODY_BYTES = 6_291_456  # InvokeEndpoint's BodyBlob limit (botocore sagemaker-runtime service model)
_RUNTIME_ROUTE = re.compile(r"^/endpoints/([^/]+)/invocations$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ModelServerApp:
    """The WSGI application: ping, the container's invocations route and the runtime's route."""

    def __init__(
        self, handle: Callable[[list[dict[str, Any]], Any], list[Any]], model_dir: str, endpoint_name: str
    ) -> None:
        self._handle = handle
        self._model_dir = model_dir
        self._endpoint_name = endpoint_name

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return _respond(start_response, 405, b"", "text/plain", [("Allow", "GET")])
            return _respond(start_response, 200, b'{"status": "Healthy"}\n', "application/json")
        runtime_match = _RUNTIME_ROUTE.match(path)
        if path != "/invocations" and runtime_match is None:
            return _respond(start_response, 404, f"no route {path}\n".encode(), "text/plain")
        if method != "POST":
            return _respond(start_response, 405, b"", "text/plain", [("Allow", "POST")])
        if runtime_match is not None and runtime_match.group(1) != self._endpoint_name:
            message = f"Endpoint {runtime_match.group(1)} of account {LOCAL_ACCOUNT} not found."
            return _runtime_error(start_response, 400, "ValidationError", {"message": message})
        status, content_type, body = self.invoke(_read_body(environ), _request_headers(environ))
        if runtime_match is None:
            return _respond(start_response, status, body, content_type or "text/plain")
        if status < 300:
            return _respond(
                start_response, 200, body, content_type, [("x-Amzn-Invoked-Production-Variant", VARIANT_NAME)]
            )
        original = body.decode("utf-8", "replace")
        kind = "client" if status < 500 else "server"
        log_group = f"/aws/sagemaker/Endpoints/{self._endpoint_name}"
        error = {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:log-group:{log_group}",
            "Message": f'Received {kind} error ({status}) from primary with message "{original}". '
            f"See the local model server's output for more information.",
            "OriginalMessage": original,
            "OriginalStatusCode": status,
        }
        return _runtime_error(start_response, 424, "ModelError", error)

    def invoke(self, body: bytes, headers: dict[str, str]) -> tuple[int, str | None, bytes]:
        """One request through the handler service: (status, content type, body), as MMS returns it."""
        from local.request_context import RequestContext

        context = RequestContext(self._model_dir, headers)
        result = self._handle([{"body": bytearray(body)}], context)
        code, _ = context.get_response_status()
        payload = result[0] if result else b""
        if isinstance(payload, str):
            encoded = payload.encode("utf-8")
        elif isinstance(payload, bytes | bytearray):
            encoded = bytes(payload)
        else:  # MMS serializes any other return value as indented JSON
            encoded = json.dumps(payload, indent=2).encode("utf-8")
        return code or 200, context.get_response_content_type(), encoded


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    return stream.read(int(length)) if length else stream.read()


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """HTTP headers with their usual spelling (Content-Type, Accept, X-Amzn-...), as MMS passes them."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        headers["-".join(part.capitalize() for part in name.split("_"))] = value
    return headers


def _respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    content_type: str | None,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = [("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4()))]
    if content_type:
        headers.append(("Content-Type", content_type))
    start_response(f"{status} {phrase}", headers + (extra or []))
    return [body]


def _runtime_error(start_response: StartResponse, status: int, error_type: str, fields: dict[str, Any]) -> list[bytes]:
    body = json.dumps(fields).encode("utf-8")
    return _respond(start_response, status, body, "application/json", [("x-amzn-ErrorType", error_type)])


def load_handler_service(model_dir: str, code_dir: str) -> Callable[[list[dict[str, Any]], Any], list[Any]]:
    """Import the user module the way the container does and load the model; returns `handle`."""
    from sagemaker_inference.default_handler_service import DefaultHandlerService
    from sagemaker_inference.transformer import Transformer

    from local.request_context import RequestContext

    os.environ.setdefault("SAGEMAKER_PROGRAM", "inference.py")
    os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = code_dir
    # The container pip-installs the submit directory; putting it first on the path is equivalent.
    sys.path.insert(0, code_dir)
    service = DefaultHandlerService(transformer=Transformer())
    service.initialize(RequestContext(model_dir))
    return service.handle


def _stop(signum: int, frame: FrameType | None) -> None:
    # waitress's run loop treats SystemExit as "shut the task threads down and return".
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Load the model, bind the port, announce it on stdout, serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m local.model_server", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="the extracted model.tar.gz")
    parser.add_argument("--code-dir", required=True, help="the submit directory holding inference.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME)
    args = parser.parse_args(argv)

    import waitress

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    handle = load_handler_service(str(Path(args.model_dir).resolve()), str(Path(args.code_dir).resolve()))
    app = ModelServerApp(handle, str(Path(args.model_dir).resolve()), args.endpoint_name)
    server = waitress.create_server(
        app,
        host=args.host,
        port=args.port,
        threads=1,  # SageMaker's advice for serverless: one worker, one model copy
        max_request_body_size=MAX_BODY_BYTES,
        ident="mlops-local-model-server",
        clear_untrusted_proxy_headers=True,
    )
    print(f"{READY_MARKER} port={server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
