"""moto's server as the demo's AWS: started on 127.0.0.1, boto3 clients pointed at it, stopped on exit.

Every request of those clients is checked as AWS checks it (`local.request_checks`): moto accepts
requests that AWS refuses, and the demo must not pass on one of them.
"""

from __future__ import annotations

import logging
from typing import Any

from local.demo.steps import DemoError
from local.request_checks import RequestChecker, RequestViolationsError

# Every demo client talks to moto in this region; the account is whatever moto's STS reports.
DEMO_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"}


class AwsEmulator:
    """moto's server on 127.0.0.1 (a free port) and boto3 clients pointed at it; a context manager."""

    def __init__(self) -> None:
        self._server: Any = None
        self._clients: dict[str, Any] = {}
        self.endpoint_url = ""
        self.request_checker = RequestChecker()

    def __enter__(self) -> AwsEmulator:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise DemoError(
                "`mlops demo` needs moto's server: pip install 'moto[server]' (make install does)"
            ) from None
        # One line per request from werkzeug would drown the demo's own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.stop()
        if exc_type is None:
            # A refused request fails its step at once; this catches one that the calling code swallowed.
            try:
                self.request_checker.assert_clean()
            except RequestViolationsError as err:
                raise DemoError(str(err)) from None

    def stop(self) -> None:
        """Shut the server down and release its port (idempotent)."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
        self._clients.clear()

    def client(self, service: str) -> Any:
        """A boto3 client of `service` on the emulator (created once), with dummy credentials."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=DEMO_REGION,
                config=Config(retries={"max_attempts": 2}),
                **DUMMY_CREDENTIALS,
            )
            self.request_checker.register(self._clients[service].meta.events)
        return self._clients[service]
