"""Inference handler for the SageMaker XGBoost framework container (script mode, Python 3.10).

The container's model server calls `model_fn` once, then for every request `input_fn`,
`predict_fn` and `output_fn` through sagemaker_inference's `Transformer`.

Request bodies (`Content-Type`):
- `text/csv`: one row per line, the schema's feature values in order, no header and no label;
  an empty field is a missing value; a trailing newline is fine.
- `application/json`: `{"instances": [[v1, v2, ...], ...]}` or `{"instances": [{"name": v, ...}, ...]}`
  (every feature named once; `null` is a missing value). Both forms may be mixed.

Responses (`Accept`; `application/json` when absent or `*/*`):
- `application/json`: `{"predictions": [{"score": 0.123456702, "label": 0}, ...]}`, one entry per
  row in request order; `score` is the churn probability, `label` is 1 when score >= 0.5.
- `text/csv`: one `score,label` line per row, no header.
Scores are written with 9 significant digits, which round-trips xgboost's float32 exactly.

Client mistakes raise subclasses of `sagemaker_inference.errors.BaseInferenceToolkitError`, which
the Transformer turns into their own status (400 bad body, 415 content type, 406 accept), with a
message naming the row and column; anything else would be a 500 (FACTS.md §8).

Capture (docs/contracts.md): for a sampled request (`MLOPS_CAPTURE_PERCENT`, default 100,
deterministic: exactly that share of consecutive answered requests) one `MLOPS_CAPTURE {json}`
line per row goes to stdout, which the container ships to the endpoint's log group. A request is
captured once its response is encoded, so a refused one captures nothing, including one whose
rows were scored before `output_fn` refused its Accept header.

Only numpy, xgboost and sagemaker_inference (all in the container), for a cheap cold start.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb
from sagemaker_inference.errors import BaseInferenceToolkitError

JSON = "application/json"
CSV = "text/csv"
LABEL_THRESHOLD = 0.5
CAPTURE_MARKER = "MLOPS_CAPTURE "
CAPTURE_VERSION = 1
SHOWN_CHARS = 40  # how much of an offending value an error message quotes

# model_fn records the feature names here: the toolkit passes the model to predict_fn only,
# yet input_fn must check column counts and names.
_feature_names: list[str] = []
# predict_fn leaves the request's rows here for output_fn, which alone knows whether the request
# is answered (the toolkit runs input_fn, predict_fn and output_fn on one thread per request).
_scored = threading.local()


class BadRequestError(BaseInferenceToolkitError):
    """400: the body cannot be read as rows of feature values."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message, "Bad Request")


class UnsupportedContentTypeError(BaseInferenceToolkitError):
    """415: the request's Content-Type is not one this model reads."""

    def __init__(self, message: str) -> None:
        super().__init__(415, message, "Unsupported Media Type")


class NotAcceptableError(BaseInferenceToolkitError):
    """406: none of the types in Accept is one this model writes."""

    def __init__(self, message: str) -> None:
        super().__init__(406, message, "Not Acceptable")


@dataclass
class LoadedModel:
    """The booster, its feature names and the capture settings of this serving process."""

    booster: xgb.Booster
    feature_names: list[str]
    model_id: str
    capture_percent: float
    requests_seen: int = 0

    def capture_this_request(self) -> bool:
        """Deterministic sampling: answered request k is captured when floor(k*p/100) steps up."""
        self.requests_seen += 1
        k, p = self.requests_seen, self.capture_percent
        return math.floor(k * p / 100.0) > math.floor((k - 1) * p / 100.0)


@dataclass(frozen=True)
class _ScoredRequest:
    """The rows predict_fn scored, kept until output_fn has encoded their response."""

    values: np.ndarray
    scores: np.ndarray
    model: LoadedModel


def model_fn(model_dir: str) -> LoadedModel:
    """Load model.ubj and schema.json once per process, single-threaded, and warm the booster up."""
    global _feature_names
    with open(os.path.join(model_dir, "schema.json"), encoding="utf-8") as handle:
        names = [feature["name"] for feature in json.load(handle)["features"]]
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.ubj"))
    booster.set_param({"nthread": 1})  # one worker, one core: threads only add overhead per row
    if booster.num_features() != len(names):
        raise ValueError(f"model.ubj expects {booster.num_features()} features, schema.json lists {len(names)}")
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        # xgboost probes `import pandas` on every inplace_predict; without pandas each probe scans
        # sys.path (~0.1 ms per request). Recording the absence makes the probe fail at once.
        sys.modules["pandas"] = None  # type: ignore[assignment]
    booster.inplace_predict(np.zeros((1, len(names))))  # first call allocates; keep it off the first request
    raw_percent = os.environ.get("MLOPS_CAPTURE_PERCENT", "100")
    try:
        percent = float(raw_percent)
    except ValueError:
        percent = -1.0
    if not 0.0 <= percent <= 100.0:
        raise ValueError(f"MLOPS_CAPTURE_PERCENT must be a number from 0 to 100, got {raw_percent!r}")
    _feature_names = names
    return LoadedModel(booster, names, os.environ.get("MLOPS_MODEL_ID") or "unknown", percent)


def input_fn(input_data: str | bytes | bytearray, content_type: str | None) -> np.ndarray:
    """Decode a CSV or JSON body into a float64 matrix in schema order (NaN = missing)."""
    media_type, charset = _parse_content_type(content_type)
    if media_type not in (CSV, JSON):
        raise UnsupportedContentTypeError(f"Content-Type {_shown(content_type)} is not supported: send {CSV} or {JSON}")
    if charset not in ("", "utf-8", "utf8", "us-ascii"):
        raise UnsupportedContentTypeError(f"charset {_shown(charset)} is not supported: send UTF-8")
    if isinstance(input_data, bytes | bytearray):
        try:
            text = bytes(input_data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequestError(f"body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = input_data
    if text.startswith("\ufeff"):
        text = text[1:]
    if not _feature_names:
        raise RuntimeError("model_fn has not run: no feature names to read the body with")
    if media_type == CSV:
        return _parse_csv(text, _feature_names)
    return _parse_json(text, _feature_names)


def predict_fn(data: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Churn probabilities (float32), one per row; output_fn captures the rows once it answers."""
    scores = model.booster.inplace_predict(data)
    _scored.request = _ScoredRequest(data, scores, model) if model.capture_percent > 0.0 else None
    return scores


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[str, str]:
    """Encode scores and labels as JSON or CSV, whichever Accept prefers; then capture a sampled request."""
    scored, _scored.request = getattr(_scored, "request", None), None
    media_type = _choose_response_type(accept)
    scores = prediction.tolist()
    if media_type == JSON:
        items = ",".join(f'{{"score":{s:.9g},"label":{s >= LABEL_THRESHOLD:d}}}' for s in scores)
        body = '{"predictions":[' + items + "]}"
    else:
        body = "".join(f"{s:.9g},{s >= LABEL_THRESHOLD:d}\n" for s in scores)
    if scored is not None and scored.scores is prediction and scored.model.capture_this_request():
        _write_capture(scored.values, prediction, scored.model.model_id)
    return body, media_type


def _parse_content_type(content_type: str | None) -> tuple[str, str]:
    if not content_type or not content_type.strip():
        raise UnsupportedContentTypeError(f"Content-Type is missing: send {CSV} or {JSON}")
    media_type, *params = content_type.split(";")
    charset = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def _parse_csv(text: str, names: list[str]) -> np.ndarray:
    body = text.rstrip("\r\n")
    if not body.strip():
        raise BadRequestError(f"empty body: send rows of {len(names)} comma-separated feature values, no header")
    if "\r" in body:
        body = body.replace("\r\n", "\n")
    lines = body.split("\n")
    width = len(names)
    for number, line in enumerate(lines, start=1):
        if line.count(",") != width - 1:
            if not line.strip():
                raise BadRequestError(f"row {number} is empty")
            count = line.count(",") + 1
            raise BadRequestError(f"row {number} has {count} values, expected {width} ({', '.join(names)})")
    if "n" in body or "N" in body:
        # `nan` or `inf` spelled out: the cell-by-cell path names the offending cell.
        values = _parse_cells([line.split(",") for line in lines], names)
    else:
        try:
            # Empty fields are missing values: spelling them `nan` in the text keeps the conversion in C.
            flat = _fill_empty_fields(body).replace("\n", ",").split(",")
            values = np.array(flat, dtype=np.float64).reshape(len(lines), width)
        except ValueError:
            values = _parse_cells([line.split(",") for line in lines], names)  # locate the bad cell
    if np.isinf(values).any():
        row, column = (int(i) for i in np.argwhere(np.isinf(values))[0])
        cell = lines[row].split(",")[column]
        raise BadRequestError(f"row {row + 1}, column {column + 1} ({names[column]}): {_shown(cell)} is not finite")
    return values


def _fill_empty_fields(body: str) -> str:
    if ",," not in body and "\n," not in body and ",\n" not in body and body[0] != "," and body[-1] != ",":
        return body
    padded = ("\n" + body + "\n").replace(",,", ",nan,").replace(",,", ",nan,")
    return padded.replace("\n,", "\nnan,").replace(",\n", ",nan\n")[1:-1]


def _parse_cells(rows: list[list[str]], names: list[str]) -> np.ndarray:
    values = np.empty((len(rows), len(names)))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            cell = cell.strip()
            if not cell:
                values[r, c] = np.nan
                continue
            try:
                values[r, c] = float(cell)
            except ValueError:
                if r == 0 and cell in names:
                    raise BadRequestError("row 1 looks like a header: send feature values only") from None
                raise BadRequestError(
                    f"row {r + 1}, column {c + 1} ({names[c]}): {_shown(cell)} is not a number"
                ) from None
            if math.isnan(values[r, c]):
                raise BadRequestError(
                    f"row {r + 1}, column {c + 1} ({names[c]}): {_shown(cell)} is not a number; "
                    "leave the field empty for a missing value"
                )
    return values


def _reject_constant(name: str) -> Any:
    raise BadRequestError(f"{name} is not a number in JSON: send null for a missing value")


def _parse_json(text: str, names: list[str]) -> np.ndarray:
    if not text.strip():
        raise BadRequestError('empty body: send {"instances": [[feature values...], ...]}')
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BadRequestError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequestError("body is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict) or "instances" not in document:
        raise BadRequestError('JSON body must be an object {"instances": [...]}')
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequestError('"instances" must be a non-empty list of rows')
    width = len(names)
    rows = []
    for number, instance in enumerate(instances, start=1):
        if type(instance) is list:
            if len(instance) != width:
                raise BadRequestError(
                    f"instance {number} has {len(instance)} values, expected {width} ({', '.join(names)})"
                )
            row = instance
        elif type(instance) is dict:
            unknown = [key for key in instance if key not in names]
            if unknown:
                raise BadRequestError(f"instance {number}: unknown feature {_shown(unknown[0])}")
            missing = [name for name in names if name not in instance]
            if missing:
                raise BadRequestError(
                    f"instance {number}: feature {missing[0]!r} is missing (send null for a missing value)"
                )
            row = [instance[name] for name in names]
        else:
            raise BadRequestError(
                f"instance {number} must be a list of {width} values or an object keyed by feature name"
            )
        for column, value in enumerate(row):
            kind = type(value)
            if kind is not float and kind is not int and value is not None:
                raise BadRequestError(
                    f"instance {number}, feature {names[column]}: {_shown(json.dumps(value))} is not a number or null"
                )
        rows.append(row)
    try:
        values = np.array(rows, dtype=np.float64)  # None becomes NaN
    except OverflowError:
        raise BadRequestError("a value is too large for a 64-bit float") from None
    if np.isinf(values).any():
        row, column = (int(i) for i in np.argwhere(np.isinf(values))[0])
        raise BadRequestError(f"instance {row + 1}, feature {names[column]}: value is not finite")
    return values


def _choose_response_type(accept: str | None) -> str:
    if not accept or not accept.strip():
        return JSON
    candidates = []
    for position, part in enumerate(accept.split(",")):
        media_type, *params = part.split(";")
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0.0:
            candidates.append((-quality, position, media_type.strip().lower()))
    for _, _, media_type in sorted(candidates):
        if media_type in (JSON, CSV):
            return media_type
        if media_type in ("*/*", "application/*"):
            return JSON
        if media_type == "text/*":
            return CSV
    raise NotAcceptableError(f"Accept {_shown(accept)} cannot be served: accept {JSON} or {CSV}")


def _write_capture(values: np.ndarray, scores: np.ndarray, model_id: str) -> None:
    """One capture line per row, written and flushed in one go (docs/contracts.md)."""
    now = time.time()
    stamp = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{int(now * 1000) % 1000:03d}Z"
    head = (
        f'{CAPTURE_MARKER}{{"v":{CAPTURE_VERSION},"ts":"{stamp}","request_id":"{os.urandom(16).hex()}",'
        f'"model_id":{json.dumps(model_id)},"i":'
    )
    # One C-level encoding for all rows: the values are finite or NaN (input_fn refuses infinities),
    # so the only non-JSON token is NaN, and no row holds a bracket to confuse the split.
    encoded = json.dumps(values.tolist(), separators=(",", ":")).replace("NaN", "null")
    rows = encoded[2:-2].split("],[")
    n = len(rows)
    lines = [
        f'{head}{i},"n":{n},"x":[{row}],"score":{score:.9g}}}\n'
        for i, (row, score) in enumerate(zip(rows, scores.tolist(), strict=True))
    ]
    sys.stdout.write("".join(lines))
    sys.stdout.flush()


def _shown(value: object) -> str:
    """A client-supplied value, quoted and cut short, safe to put into an error message."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")
