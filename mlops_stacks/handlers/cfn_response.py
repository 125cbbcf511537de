"""Answering CloudFormation from a Lambda-backed custom resource without the Provider framework."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

MAX_REASON_CHARS = 1000  # a reason longer than this is only noise in the stack events
MAX_RESPONSE_BYTES = 4096  # CloudFormation rejects a larger response body


def response_body(
    event: Mapping[str, Any], status: str, physical_id: str, reason: str, data: Mapping[str, str] | None = None
) -> bytes:
    """The JSON response, with the reason cut so that the whole body fits CloudFormation's limit."""

    def body(text: str) -> bytes:
        response: dict[str, Any] = {
            "Status": status,
            "Reason": text,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
        if data:
            response["Data"] = dict(data)
        return json.dumps(response).encode()

    # escaping makes one character one to twelve bytes, so count bytes, not characters
    budget = MAX_RESPONSE_BYTES - len(body(""))
    kept = 0
    for character in reason[:MAX_REASON_CHARS]:
        budget -= len(json.dumps(character)) - 2
        if budget < 0:
            break
        kept += 1
    return body(reason[:kept])


def respond(
    event: Mapping[str, Any], status: str, physical_id: str, reason: str = "", data: Mapping[str, str] | None = None
) -> None:
    """Send the custom-resource response to CloudFormation's pre-signed URL."""
    body = response_body(event, status, physical_id, reason, data)
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        # the pre-signed URL is signed without a content type, so none may be sent
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
