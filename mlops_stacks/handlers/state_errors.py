"""The error a Step Functions Catch hands on (`{"Error": ..., "Cause": ...}`), as one readable line.

A Lambda task's Cause is the runtime's JSON error report (errorMessage, errorType, stackTrace);
a service task's Cause is the service's own message. Notifications and the CloudFormation signal
carry the message, not the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def cause_text(cause: Any) -> str:
    """The message in a Catch's Cause: a Lambda's errorMessage, else the text itself, on one line."""
    text = str(cause or "")
    try:
        report = json.loads(text)
    except ValueError:
        report = None
    if isinstance(report, Mapping) and isinstance(report.get("errorMessage"), str):
        text = report["errorMessage"]
    return " ".join(text.split())


def error_text(error: Mapping[str, Any] | None) -> str:
    """`Error: message` of a caught error, or what is known of it."""
    if not error:
        return "unknown error"
    name, message = str(error.get("Error") or "Error"), cause_text(error.get("Cause"))
    return f"{name}: {message}" if message else name
