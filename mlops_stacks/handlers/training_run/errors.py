"""What a training run's Lambdas raise when they fail: their two errors, and text cut to the limits."""

from __future__ import annotations


class TrainingRunError(RuntimeError):
    """The run cannot succeed as configured; the message says what happened and what to do."""


class PropertyError(ValueError):
    """A resource property or a Lambda's environment variable is missing or malformed; the message names it."""


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate_utf8(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-8 bytes (signal and message limits count bytes, not characters)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"
