"""Capture records: parse them from endpoint log lines and lay them out as hour-partitioned JSONL.

The record format and the S3 layout are fixed in docs/contracts.md ("Capture record", "Capture in
S3"). The capture Lambda and the local model server both go through this module, so the files
that Athena reads in the cloud and DuckDB reads on a laptop are byte-for-byte the same kind.
Pure stdlib: it runs in a Lambda without layers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_core.naming import CAPTURE_PREFIX
from model_code.number_syntax import is_json_integer, is_json_number

CAPTURE_MARKER = "MLOPS_CAPTURE"
CAPTURE_VERSION = 1
# `dt` partition of the Glue table: Athena's projection format, and the same hour as strftime.
PARTITION_FORMAT = "yyyy/MM/dd/HH"
PARTITION_STRFTIME = "%Y/%m/%d/%H"

# SageMaker endpoint names (CreateEndpoint): letters, digits and hyphens; no path tricks.
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_BATCH_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
RECORD_FIELDS = ("v", "ts", "request_id", "model_id", "i", "n", "x", "score")
# `i` and `n` are `int` columns of the Glue capture table (32-bit in Athena).
MAX_ROWS_PER_REQUEST = 2**31 - 1


class MalformedCaptureLine(ValueError):
    """A line carries the capture marker but not a valid capture record (truncated, bad JSON, bad field)."""


def parse_capture_line(line: str) -> dict[str, Any] | None:
    """Parse the capture record on a log line; None when the line has no capture marker.

    Whatever follows the marker, the answer is a record or `MalformedCaptureLine`, never another
    error: one bad line costs its own record only. The record returned holds exactly the
    contract's fields, `ts` in UTC with a `Z`, and non-finite feature values (NaN, ±Infinity,
    which Python's json accepts) as None, i.e. missing, so it always serialises to strict JSON.
    """
    start = line.find(CAPTURE_MARKER)
    if start < 0:
        return None
    payload = line[start + len(CAPTURE_MARKER) :].strip()
    try:
        record = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise MalformedCaptureLine(f"capture line is not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # an integer of over 4300 digits; nesting deeper than the stack
        raise MalformedCaptureLine(f"capture line is not usable JSON ({type(exc).__name__})") from None
    if not isinstance(record, dict):
        raise MalformedCaptureLine(f"capture line holds a JSON {type(record).__name__}, not an object")
    return _validated(record)


def _validated(record: dict[str, Any]) -> dict[str, Any]:
    """Check the fields of a decoded record; return the contract's fields, normalised."""
    missing = [key for key in RECORD_FIELDS if key not in record]
    if missing:
        raise MalformedCaptureLine(f"capture record lacks required field(s): {', '.join(missing)}")
    if not is_json_integer(record["v"]) or record["v"] != CAPTURE_VERSION:
        raise MalformedCaptureLine(f"capture record version `v` must be {CAPTURE_VERSION}, got {_shown(record['v'])}")
    for key in ("ts", "request_id", "model_id"):
        if not isinstance(record[key], str) or not record[key]:
            raise MalformedCaptureLine(f"capture record field `{key}` must be a non-empty string")
    when = _record_time(record)
    i, n = record["i"], record["n"]
    if not is_json_integer(i) or not is_json_integer(n) or not 0 <= i < n <= MAX_ROWS_PER_REQUEST:
        raise MalformedCaptureLine(
            f"capture record needs whole numbers 0 <= i < n <= {MAX_ROWS_PER_REQUEST}, got i={_shown(i)}, n={_shown(n)}"
        )
    if not isinstance(record["x"], list):
        raise MalformedCaptureLine("capture record field `x` must be a list of numbers or nulls")
    x: list[float | None] = []
    for value in record["x"]:
        if value is None:
            x.append(None)
        elif is_json_number(value):
            number = _float(value, "x")
            x.append(number if math.isfinite(number) else None)
        else:
            raise MalformedCaptureLine(f"capture record field `x` holds a non-numeric value {_shown(value)}")
    score = _float(record["score"], "score") if is_json_number(record["score"]) else None
    if score is None or not math.isfinite(score):
        raise MalformedCaptureLine(
            f"capture record field `score` must be a finite number, got {_shown(record['score'])}"
        )
    return {
        "v": CAPTURE_VERSION,
        "ts": utc_timestamp(when),
        "request_id": record["request_id"],
        "model_id": record["model_id"],
        "i": i,
        "n": n,
        "x": x,
        "score": score,
    }


def _float(value: int | float, key: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise MalformedCaptureLine(f"capture record field `{key}` holds a number beyond float64") from None


def _shown(value: Any) -> str:
    """A field's value for a message: its repr, cut short (a bad line may hold anything)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 time as the capture records write it, as an aware UTC datetime; ValueError otherwise.

    `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to 6 digits and an optional `Z` or `±HH:MM`
    (none is UTC), in a year from 1 to 9999 once in UTC: what Python, DuckDB and Athena all read
    the same way.
    """
    if not isinstance(text, str) or _TIMESTAMP.fullmatch(text) is None:
        raise ValueError(f"{_shown(text)} is not an ISO 8601 time such as 2026-11-26T10:00:00.000Z")
    try:
        when = datetime.fromisoformat(text)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not a valid time ({exc})") from None


def utc_timestamp(when: datetime) -> str:
    """The capture records' own spelling of a time: UTC, milliseconds (microseconds when present) and `Z`."""
    utc = when.astimezone(UTC)
    fraction = f"{utc.microsecond // 1000:03d}" if utc.microsecond % 1000 == 0 else f"{utc.microsecond:06d}"
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%S')}.{fraction}Z"


def _record_time(record: Mapping[str, Any]) -> datetime:
    """Return the record's `ts` as an aware UTC datetime; a naive timestamp is taken as UTC."""
    try:
        return parse_timestamp(record["ts"])
    except ValueError as exc:
        raise MalformedCaptureLine(f"capture record field `ts`: {exc}") from None


def partition_key(record: Mapping[str, Any], endpoint: str) -> str:
    """Return the S3 prefix of a record's hour: `capture/<endpoint>/YYYY/MM/DD/HH` from its `ts` (UTC)."""
    _check_endpoint(endpoint)
    return f"{CAPTURE_PREFIX}/{endpoint}/{_record_time(record).strftime(PARTITION_STRFTIME)}"


def _check_endpoint(endpoint: str) -> None:
    if not ENDPOINT_NAME_PATTERN.fullmatch(endpoint):
        raise ValueError(f"endpoint name must be 1-63 letters, digits or hyphens, got {endpoint!r}")


def records_from_log_lines(lines: Iterable[str]) -> tuple[list[dict[str, Any]], int]:
    """All capture records in some log lines, and how many marker lines were malformed and skipped.

    A log event may hold several lines, so each item is split at line feeds first (not at every
    character Python calls a line break: a record's JSON may hold U+2028); lines without the
    marker (the model server's own logging) are neither records nor skipped.
    """
    records: list[dict[str, Any]] = []
    skipped = 0
    for item in lines:
        for line in item.split("\n"):
            try:
                record = parse_capture_line(line)
            except MalformedCaptureLine:
                skipped += 1
                continue
            if record is not None:
                records.append(record)
    return records, skipped


@dataclass(frozen=True)
class LogBatch:
    """The log events of one CloudWatch Logs subscription delivery."""

    log_group: str
    log_stream: str
    messages: list[str]
    event_ids: list[str]

    @property
    def batch_id(self) -> str:
        """A name derived from the events themselves, so a retried delivery overwrites, never duplicates."""
        digest = hashlib.sha256()
        for part in (self.log_group, self.log_stream, *self.event_ids):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()[:32]


def decode_cloudwatch_logs_event(event: Mapping[str, Any]) -> LogBatch:
    """Decode a subscription filter's Lambda event (`awslogs.data`: base64 of gzip of JSON).

    CONTROL_MESSAGE deliveries (CloudWatch Logs checking that the destination is reachable)
    decode to a batch without messages.
    """
    try:
        data = event["awslogs"]["data"]
    except (KeyError, TypeError):
        raise ValueError("event is not a CloudWatch Logs subscription event: it has no `awslogs.data`") from None
    try:
        payload = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    except (ValueError, TypeError, OSError, EOFError, RecursionError) as exc:
        raise ValueError(f"`awslogs.data` is not base64 of gzipped JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"`awslogs.data` holds a JSON {type(payload).__name__}, not a subscription payload object")
    group, stream = str(payload.get("logGroup", "")), str(payload.get("logStream", ""))
    if payload.get("messageType") == "CONTROL_MESSAGE":
        return LogBatch(group, stream, [], [])
    events = payload.get("logEvents") or []
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("`awslogs.data` has a `logEvents` that is not a list of log event objects")
    return LogBatch(
        log_group=group,
        log_stream=stream,
        messages=[str(e.get("message", "")) for e in events],
        event_ids=[str(e.get("id", "")) for e in events],
    )


def capture_objects(records: Iterable[Mapping[str, Any]], endpoint: str, batch_id: str) -> dict[str, bytes]:
    """Group records by hour into JSONL objects: `{capture/<endpoint>/YYYY/MM/DD/HH/<batch_id>.jsonl: bytes}`.

    One function for both writers: the Lambda puts each object to S3, the local server writes
    each to a file under its capture directory (`write_capture_objects`).
    """
    if not _BATCH_ID.fullmatch(batch_id):
        raise ValueError(f"batch id must be 1-128 letters, digits, '_', '.' or '-', got {batch_id!r}")
    lines: dict[str, list[str]] = {}
    for record in records:
        key = f"{partition_key(record, endpoint)}/{batch_id}.jsonl"
        lines.setdefault(key, []).append(json.dumps(record, separators=(",", ":"), allow_nan=False))
    return {key: ("\n".join(rows) + "\n").encode() for key, rows in lines.items()}


def write_capture_objects(objects: Mapping[str, bytes], root: Path) -> list[Path]:
    """Write capture objects as files under `root` (same keys as in S3); return their paths.

    Each file appears atomically (written under a temporary name, then renamed), so a drift run
    reading the tree at the same time never sees half a file.
    """
    paths = []
    for key, body in objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(body)
        os.replace(temporary, path)
        paths.append(path)
    return paths
