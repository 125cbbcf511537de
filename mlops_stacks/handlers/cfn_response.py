"""Answering CloudFormation: a custom resource's response, and a wait condition's signal.

Both are a JSON document PUT to a pre-signed URL that CloudFormation hands out: the custom
resource's `ResponseURL`, the wait condition handle's `Ref`.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

MAX_REASON_CHARS = 1000  # a reason longer than this is only noise in the stack events
# A cut reason keeps its end too: a training failure ends with the log group and stream to read.
TAIL_CHARS = 200
ELLIPSIS = "…"
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

    return body(fitting(reason, MAX_RESPONSE_BYTES - len(body(""))))


def escaped_bytes(text: str) -> int:
    """The bytes `text` takes inside a JSON string (escaping makes a character one to twelve bytes)."""
    return len(json.dumps(text)) - 2


def _start(text: str, budget: int) -> str:
    """The longest start of `text` whose JSON escaping takes at most `budget` bytes."""
    kept = 0
    for character in text:
        budget -= escaped_bytes(character)
        if budget < 0:
            break
        kept += 1
    return text[:kept]


def fitting(text: str, budget: int) -> str:
    """`text`, or when it is longer than MAX_REASON_CHARS or `budget` escaped bytes, its start, "…" and its end.

    The end (TAIL_CHARS characters) is kept whenever it fits with room to spare, since the end of a
    reason often says where to look; otherwise the start alone.
    """
    if len(text) <= MAX_REASON_CHARS and escaped_bytes(text) <= budget:
        return text
    tail = text[-TAIL_CHARS:]
    room = budget - escaped_bytes(tail) - escaped_bytes(ELLIPSIS)
    if room < escaped_bytes(tail):
        return _start(text[:MAX_REASON_CHARS], budget)
    return _start(text[: MAX_REASON_CHARS - TAIL_CHARS - len(ELLIPSIS)], room) + ELLIPSIS + tail


def put_json(url: str, body: bytes) -> None:
    """PUT a JSON document to one of CloudFormation's pre-signed URLs."""
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        # the pre-signed URL is signed without a content type, so none may be sent
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def respond(
    event: Mapping[str, Any], status: str, physical_id: str, reason: str = "", data: Mapping[str, str] | None = None
) -> None:
    """Send the custom-resource response to CloudFormation's pre-signed URL."""
    put_json(event["ResponseURL"], response_body(event, status, physical_id, reason, data))


def answer(event: Mapping[str, Any], handle: Callable[[], str]) -> None:
    """Run `handle` (it returns the physical ID) and answer CloudFormation, with the error as the reason on failure.

    Only a failed PUT of the answer itself propagates: Lambda then retries the (idempotent) request.
    """
    physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    logger.info("%s %s %s", event.get("RequestType"), event.get("ResourceType"), physical_id)
    try:
        physical_id = handle()
    except Exception as error:
        logger.exception("request failed")
        respond(event, "FAILED", physical_id, f"{type(error).__name__}: {error}")
        return
    respond(event, "SUCCESS", physical_id)
