"""CloudFormation's side of a pre-signed URL, on 127.0.0.1: it records every PUT and answers 200.

A custom resource's `ResponseURL` and a wait condition handle are both pre-signed S3 URLs that
take one PUT of a JSON document. Paths under `/refused` answer 403, as an expired URL does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Put:
    """One PUT as the server saw it."""

    path: str
    content_type: str | None
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass
class PresignedUrls:
    """The recording server's base URL and what it received, oldest first."""

    base: str
    received: list[Put] = field(default_factory=list)

    def url(self, name: str) -> str:
        """A URL shaped like a pre-signed one; `refused/...` names answer 403."""
        return f"{self.base}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0f1e2d"

    def bodies(self) -> list[Any]:
        """Every PUT body, parsed."""
        return [put.json() for put in self.received]


@contextmanager
def presigned_urls() -> Iterator[PresignedUrls]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    urls = PresignedUrls("")

    class Recorder(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            urls.received.append(Put(self.path, self.headers.get("Content-Type"), body))
            self.send_response(403 if self.path.startswith("/refused") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    urls.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield urls
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
