"""What each phase sends: fresh rows, split into single-row and batch requests, plus a bad client's mistakes."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from local.demo.results import PlannedRequest

if TYPE_CHECKING:
    import numpy as np

BATCH_ROWS = 100  # rows of a batch request; single-row requests make up the rest of the mix
SINGLE_ROW_SHARE = 50  # one row in this many goes out as a single-row request
MALFORMED_SHARE = 0.15  # malformed requests per well-formed one in the bad-client phase
CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"

MALFORMED_KINDS = (
    "too few values",
    "not a number",
    "header row",
    "empty body",
    "JSON without instances",
    "NaN in JSON",
    "unsupported Content-Type",
    "unsupported Accept",
)


def phase_features(phase: str, rows: int, seed: int) -> np.ndarray:
    """Fresh synthetic rows for a phase: other seeds than training; drifted rows for `drifted`."""
    from dataset import generate

    offsets = {"normal": 1, "drifted": 2, "bad-client": 3}
    return generate(rows, seed + offsets[phase], drift=phase == "drifted").features


def traffic_sizes(rows: int, min_drift_rows: int) -> dict[str, int]:
    """Rows per phase: a quarter of the training rows (half for the bad client), enough for drift."""
    base = max(rows // 4, 2 * min_drift_rows)
    return {"normal": base, "drifted": base, "bad-client": max(base // 2, 2 * min_drift_rows)}


def plan_phase(features: np.ndarray, seed: int, malformed_share: float = 0.0) -> list[PlannedRequest]:
    """A phase's requests in a shuffled order: single rows and batches, CSV and JSON, plus malformed ones.

    With `malformed_share`, that many malformed requests per well-formed one (at least one of each kind).
    """
    import numpy as np

    from dataset import format_rows

    lines = format_rows(features)
    singles = min(len(lines), max(10, len(lines) // SINGLE_ROW_SHARE))
    requests: list[PlannedRequest] = []
    for i in range(singles):
        body_format = CSV_TYPE if i % 2 == 0 else JSON_TYPE
        requests.append(_request("1 row", body_format, lines[i : i + 1], features[i : i + 1], by_name=True, turn=i))
    for turn, start in enumerate(range(singles, len(lines), BATCH_ROWS)):
        stop = start + BATCH_ROWS
        body_format = CSV_TYPE if turn % 2 == 0 else JSON_TYPE
        requests.append(_request("batch", body_format, lines[start:stop], features[start:stop], turn=turn))
    if malformed_share > 0:
        count = max(len(MALFORMED_KINDS), math.ceil(malformed_share * len(requests)))
        for k in range(count):
            requests.append(malformed_request(MALFORMED_KINDS[k % len(MALFORMED_KINDS)], lines[k % len(lines)]))
    order = np.random.default_rng(seed).permutation(len(requests))
    return [requests[i] for i in order]


def _request(
    kind: str, body_format: str, lines: list[str], features: np.ndarray, *, turn: int, by_name: bool = False
) -> PlannedRequest:
    from dataset import FEATURE_NAMES

    accept = JSON_TYPE if turn % 3 else CSV_TYPE
    if body_format == CSV_TYPE:
        body = "".join(line + "\n" for line in lines)
    else:
        rows = [[None if v != v else v for v in row] for row in features.tolist()]
        instances: list[Any] = [dict(zip(FEATURE_NAMES, row, strict=True)) for row in rows] if by_name else rows
        body = json.dumps({"instances": instances})
    return PlannedRequest(kind, body_format, accept, body.encode(), len(lines))


def malformed_request(kind: str, line: str) -> PlannedRequest:
    """A request a careless client sends; the serving contract answers each with a 4xx."""
    from dataset import FEATURE_NAMES

    rest = line.split(",", 1)[1]
    content_type, accept = CSV_TYPE, JSON_TYPE
    if kind == "too few values":
        body = rest
    elif kind == "not a number":
        body = "n/a," + rest
    elif kind == "header row":
        body = ",".join(FEATURE_NAMES) + "\n" + line
    elif kind == "empty body":
        body = ""
    elif kind == "JSON without instances":
        content_type, body = JSON_TYPE, json.dumps({"rows": [line]})
    elif kind == "NaN in JSON":
        content_type, body = JSON_TYPE, '{"instances": [[NaN' + ", 0" * (len(FEATURE_NAMES) - 1) + "]]}"
    elif kind == "unsupported Content-Type":
        content_type, body = "application/x-protobuf", line
    elif kind == "unsupported Accept":
        accept, body = "application/xml", line
    else:
        raise ValueError(f"unknown malformed request kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")
    return PlannedRequest(kind, content_type, accept, body.encode(), 1, malformed=True)
