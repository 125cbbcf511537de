"""The request context the inference toolkit's Transformer expects from its model server.

In the container, Multi Model Server hands `Transformer.transform(data, context)` an
`mms.context.Context`. The Transformer reads `system_properties["model_dir"]` and the request
headers through `request_processor[0].get_request_properties()`, and reports the outcome through
`set_response_status` and `set_response_content_type`. This class offers the same surface, so
the local server dispatches through the real Transformer and gets the container's status codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RequestProcessor:
    """One request's headers, as MMS exposes them."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def get_request_properties(self) -> dict[str, str]:
        """All request headers, names as the client sent them."""
        return self._headers


class RequestContext:
    """A single-request MMS context: system properties in, response status and content type out."""

    def __init__(self, model_dir: str, headers: Mapping[str, str] | None = None) -> None:
        self.system_properties: dict[str, Any] = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "MMS",
            "server_version": "local",
        }
        self.request_processor = [RequestProcessor(headers or {})]
        self._status: tuple[int | None, str | None] = (None, None)
        self._content_type: str | None = None

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        """Called by the Transformer when a handler raised: the error's status and reason phrase."""
        self._status = (code, phrase)

    def get_response_status(self, idx: int = 0) -> tuple[int | None, str | None]:
        """(status, phrase) set by the handler, or (None, None) for success."""
        return self._status

    def set_response_content_type(self, idx: int, value: str) -> None:
        """The response's media type as chosen by output_fn."""
        self._content_type = value

    def get_response_content_type(self, idx: int = 0) -> str | None:
        """The response's media type, if the handler set one."""
        return self._content_type
