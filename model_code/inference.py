"""Inference handler for the SageMaker XGBoost framework container (script mode, Python 3.10).

A single-model endpoint, serverless included, serves this module with `sagemaker_containers`' Worker
(gunicorn, gevent, Flask): `model_fn` runs once, then `transform_fn(model, body, content_type,
accept)` for every request. The module defines those two and no `input_fn`/`predict_fn`/`output_fn`:
the image refuses a module with both forms, and the toolkit turns any exception raised there into
a 500, so a client mistake must be answered here, with the framework's `Response` and a 4xx status
(docs/contracts.md).

Request bodies (`Content-Type`; the toolkit hands a missing one over as `application/json`):
- `text/csv`: one row per line, the schema's feature values in order, no header and no label;
  an empty field is a missing value; a trailing newline is fine.
- `application/json`: `{"instances": [[v1, v2, ...], ...]}` or `{"instances": [{"name": v, ...}, ...]}`
  (every feature named once; `null` is a missing value). Both forms may be mixed.

Responses (`Accept`; the toolkit replaces a missing one or `*/*` with
SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT):
- `application/json`: `{"predictions": [{"score": 0.123456702, "label": 0}, ...]}`, one entry per
  row in request order; `score` is the churn probability, `label` is 1 when score >= 0.5.
- `text/csv`: one `score,label` line per row, no header.
Scores are written with 9 significant digits, which round-trips xgboost's float32 exactly.

Client mistakes: 415 (content type or charset), 406 (accept), 400 (the body, naming the row and
column), each with a short plain-text message.

Capture (docs/contracts.md): for a sampled request (`MLOPS_CAPTURE_PERCENT`, default 100,
deterministic: exactly that share of consecutive answered requests) one `MLOPS_CAPTURE {json}`
line per row goes to stdout, which the container ships to the endpoint's log group. Lines are
written before the answer leaves, and a refused request captures nothing.

Imports only numpy, xgboost and the toolkit's worker, all in the container, and the sourcedir's
number syntax.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb
from sagemaker_containers.beta.framework import worker

try:  # the project's tests import this file as `model_code.inference`
    from model_code.number_syntax import NUMBER
except ImportError:  # the container pip-installs the sourcedir's files as top-level modules
    from number_syntax import NUMBER  # type: ignore[no-redef]

JSON = "application/json"
CSV = "text/csv"
TEXT = "text/plain"
LABEL_THRESHOLD = 0.5
CAPTURE_MARKER = "MLOPS_CAPTURE "
CAPTURE_VERSION = 1
SHOWN_CHARS = 40  # how much of an offending value an error message quotes
REPLACEMENT = "\ufffd"  # what Werkzeug puts in place of bytes that are not UTF-8
# A CSV body of only these characters goes through numpy's C conversion at once; numpy (like
# float()) also reads `1_000`, `inf` or other scripts' digits, so any other body is read cell by
# cell with the project's one number syntax (model_code/number_syntax.py).
_PLAIN_CSV = re.compile(r"[0-9eE.+\-, \t\n]*")


class ClientMistake(Exception):
    """A request this model cannot answer: its HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad_request(message: str) -> ClientMistake:
    return ClientMistake(400, message)


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


def model_fn(model_dir: str) -> LoadedModel:
    """Load model.ubj and schema.json once per process and warm the booster up."""
    with open(os.path.join(model_dir, "schema.json"), encoding="utf-8") as handle:
        names = [feature["name"] for feature in json.load(handle)["features"]]
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.ubj"))
    booster.set_param({"nthread": 1})  # one worker, one core: threads only add overhead per row
    if booster.num_features() != len(names):
        raise ValueError(f"model.ubj expects {booster.num_features()} features, schema.json lists {len(names)}")
    booster.inplace_predict(np.zeros((1, len(names))))  # first call allocates; keep it off the first request
    raw_percent = os.environ.get("MLOPS_CAPTURE_PERCENT", "100")
    try:
        percent = float(raw_percent)
    except ValueError:
        percent = -1.0
    if not 0.0 <= percent <= 100.0:
        raise ValueError(f"MLOPS_CAPTURE_PERCENT must be a number from 0 to 100, got {raw_percent!r}")
    return LoadedModel(booster, names, os.environ.get("MLOPS_MODEL_ID") or "unknown", percent)


def transform_fn(model: LoadedModel, content: str | bytes, content_type: str, accept: str) -> worker.Response:
    """Answer one request: scores and labels, or a 4xx naming the client's mistake."""
    try:
        media_type, charset = _parse_content_type(content_type)
        response_type = _choose_response_type(accept)
        text = _text(content, charset)
        values = _parse_csv(text, model.feature_names) if media_type == CSV else _parse_json(text, model.feature_names)
    except ClientMistake as mistake:
        return worker.Response(mistake.message + "\n", status=mistake.status, mimetype=TEXT)
    scores = model.booster.inplace_predict(values)
    body = _encode(scores, response_type)
    if model.capture_percent > 0.0 and model.capture_this_request():
        _write_capture(values, scores, model.model_id)
    return worker.Response(body, status=200, mimetype=response_type)


def _parse_content_type(content_type: str) -> tuple[str, str]:
    media_type, *params = content_type.split(";")
    media_type = media_type.strip().lower()
    if media_type not in (CSV, JSON):
        raise ClientMistake(415, f"Content-Type {_shown(content_type)} is not supported: send {CSV} or {JSON}")
    charset = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in ("", "utf-8", "utf8", "us-ascii"):
        raise ClientMistake(415, f"charset {_shown(charset)} is not supported: send UTF-8")
    return media_type, charset


def _choose_response_type(accept: str) -> str:
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
    raise ClientMistake(406, f"Accept {_shown(accept)} cannot be served: accept {JSON} or {CSV}")


def _text(content: str | bytes, charset: str) -> str:
    """The body as text. The toolkit decodes exactly `text/csv` and `application/json` itself."""
    if isinstance(content, bytes | bytearray):
        try:
            text = bytes(content).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_request(f"body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = content
    return text[1:] if text.startswith("\ufeff") else text


def _undecodable(text: str, csv: bool) -> ClientMistake:
    """Name where the first byte that is not UTF-8 was: row and column in CSV, line and character in JSON."""
    position = text.index(REPLACEMENT)
    line_start = text.rfind("\n", 0, position) + 1
    line = text.count("\n", 0, position) + 1
    if csv:
        column = text.count(",", line_start, position) + 1
        return _bad_request(f"body is not valid UTF-8: row {line}, column {column} holds a byte that is not UTF-8")
    return _bad_request(f"body is not valid UTF-8 (line {line}, character {position - line_start + 1})")


def _parse_csv(text: str, names: list[str]) -> np.ndarray:
    body = text.rstrip("\r\n")
    if not body.strip():
        raise _bad_request(f"empty body: send rows of {len(names)} comma-separated feature values, no header")
    if REPLACEMENT in body:
        raise _undecodable(body, csv=True)
    if "\r" in body:
        body = body.replace("\r\n", "\n")
    lines = body.split("\n")
    width = len(names)
    for number, line in enumerate(lines, start=1):
        if line.count(",") != width - 1:
            if not line.strip():
                raise _bad_request(f"row {number} is empty")
            count = line.count(",") + 1
            raise _bad_request(f"row {number} has {count} values, expected {width} ({', '.join(names)})")
    if _PLAIN_CSV.fullmatch(body) is None:
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
        raise _bad_request(f"row {row + 1}, column {column + 1} ({names[column]}): {_shown(cell)} is not finite")
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
            cell = cell.strip(" \t")
            if not cell:
                values[r, c] = np.nan
            elif NUMBER.fullmatch(cell):
                values[r, c] = float(cell)  # beyond float64 becomes inf, refused by the caller
            else:
                raise _bad_request(_not_a_number(cell, r, c, names))
    return values


def _not_a_number(cell: str, r: int, c: int, names: list[str]) -> str:
    if r == 0 and cell in names:
        return "row 1 looks like a header: send feature values only"
    where = f"row {r + 1}, column {c + 1} ({names[c]})"
    spelled = cell.lstrip("+-").lower()
    if spelled == "nan":
        return f"{where}: {_shown(cell)} is not a number; leave the field empty for a missing value"
    if spelled in ("inf", "infinity"):
        return f"{where}: {_shown(cell)} is not finite"
    try:
        float(cell)
    except ValueError:
        return f"{where}: {_shown(cell)} is not a number"
    return f"{where}: {_shown(cell)} is not a plain decimal number (ASCII digits, one '.', optional exponent)"


def _reject_constant(name: str) -> Any:
    raise _bad_request(f"{name} is not a number in JSON: send null for a missing value")


def _parse_json(text: str, names: list[str]) -> np.ndarray:
    if not text.strip():
        raise _bad_request('empty body: send {"instances": [[feature values...], ...]}')
    if REPLACEMENT in text:
        raise _undecodable(text, csv=False)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        hint = f"; for CSV rows send Content-Type: {CSV}" if text.lstrip()[:1] not in ("{", "[", '"') else ""
        raise _bad_request(f"body is not valid JSON: {exc}{hint}") from None
    except RecursionError:
        raise _bad_request("body is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise _bad_request(f'JSON body must be an object {{"instances": [...]}}, got {_json_kind(document)}')
    if "instances" not in document:
        keys = ", ".join(_shown(key) for key in list(document)[:5]) or "none"
        raise _bad_request(f'JSON object has no "instances" key (its keys: {keys}): send {{"instances": [...]}}')
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise _bad_request('"instances" must be a non-empty list of rows')
    width = len(names)
    rows = []
    for number, instance in enumerate(instances, start=1):
        if type(instance) is list:
            if len(instance) != width:
                raise _bad_request(
                    f"instance {number} has {len(instance)} values, expected {width} ({', '.join(names)})"
                )
            row = instance
        elif type(instance) is dict:
            unknown = [key for key in instance if key not in names]
            if unknown:
                raise _bad_request(f"instance {number}: unknown feature {_shown(unknown[0])}")
            missing = [name for name in names if name not in instance]
            if missing:
                raise _bad_request(
                    f"instance {number}: feature {missing[0]!r} is missing (send null for a missing value)"
                )
            row = [instance[name] for name in names]
        else:
            raise _bad_request(f"instance {number} must be a list of {width} values or an object keyed by feature name")
        for column, value in enumerate(row):
            kind = type(value)
            if kind is not float and kind is not int and value is not None:
                raise _bad_request(
                    f"instance {number}, feature {names[column]}: {_shown(json.dumps(value))} is not a number or null"
                )
        rows.append(row)
    try:
        values = np.array(rows, dtype=np.float64)  # None becomes NaN
    except OverflowError:
        raise _bad_request("a value is too large for a 64-bit float") from None
    if np.isinf(values).any():
        row, column = (int(i) for i in np.argwhere(np.isinf(values))[0])
        raise _bad_request(f"instance {row + 1}, feature {names[column]}: value is not finite")
    return values


def _json_kind(document: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if document is None else kinds.get(type(document), "another value")


def _encode(scores: np.ndarray, media_type: str) -> str:
    if media_type == JSON:
        items = ",".join(f'{{"score":{s:.9g},"label":{s >= LABEL_THRESHOLD:d}}}' for s in scores.tolist())
        return '{"predictions":[' + items + "]}"
    return "".join(f"{s:.9g},{s >= LABEL_THRESHOLD:d}\n" for s in scores.tolist())


def _write_capture(values: np.ndarray, scores: np.ndarray, model_id: str) -> None:
    """One capture line per row, written and flushed in one go (docs/contracts.md)."""
    now = time.time()
    stamp = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{int(now * 1000) % 1000:03d}Z"
    head = (
        f'{CAPTURE_MARKER}{{"v":{CAPTURE_VERSION},"ts":"{stamp}","request_id":"{os.urandom(16).hex()}",'
        f'"model_id":{json.dumps(model_id)},"i":'
    )
    # One C-level encoding for all rows: the values are finite or NaN (the parsers refuse infinities),
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
