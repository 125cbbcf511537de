"""Send representative traffic to an endpoint and check its answers: what `mlops test-endpoint` does.

The requests go through the boto3 `sagemaker-runtime` client, so the same code checks the deployed
serverless endpoint and the local endpoint (`endpoint_url`). Request kinds, after one first request
whose latency includes any cold start:

- CSV, one row, JSON answer; CSV, a batch, CSV answer;
- JSON (`{"instances": [...]}`), one row as a named object; JSON, a batch of value lists;
- one deliberately malformed CSV request (a column short), which must get a 4xx with a plain message
  saying what is wrong: a 2xx means the model accepts garbage, a 5xx means a client mistake would
  page the on-call (the XGBoost image answers 500 for any exception a handler raises; see
  model_code/inference.py).

Each answer is checked against the model's HTTP contract (model_code/inference.py): status 200,
the content type asked for, one prediction per row, scores in [0, 1], label = score >= 0.5. Across
requests: the same row gets the same score in every format and on every repeat, and a batch of
different rows does not get one constant score. Latency (client wall time) is reported as p50/p95
per kind.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from model_code.number_syntax import is_finite_number

if TYPE_CHECKING:
    from rich.console import Console

JSON = "application/json"
CSV = "text/csv"
LABEL_THRESHOLD = 0.5  # model_code/inference.py: label is 1 when score >= 0.5
SCORE_TOLERANCE = 1e-6  # answers carry 9 significant digits of a float32
SHOWN_CHARS = 160  # how much of an unexpected answer a problem message quotes
DEFAULT_BATCH_ROWS = 100
FIRST_REQUEST = "first request"
MALFORMED = "malformed csv (expects 4xx)"


class EndpointCheckError(ValueError):
    """The check cannot start: bad probe rows or arguments. The message says what is wrong."""


@dataclass(frozen=True)
class ProbeRows:
    """Feature rows to send, in the model's feature order (NaN = missing value)."""

    names: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names) or self.values.shape[0] == 0:
            raise EndpointCheckError(
                f"probe rows must be a non-empty matrix of {len(self.names)} columns, got shape {self.values.shape}"
            )


def synthetic_probe_rows(rows: int, seed: int) -> ProbeRows:
    """Fresh rows from the synthetic data generator: what an endpoint trained on synthetic data expects."""
    from dataset import FEATURE_NAMES, generate

    return ProbeRows(tuple(FEATURE_NAMES), generate(rows, seed).features)


def csv_probe_rows(path: str | Path, label_column: str, rows: int) -> ProbeRows:
    """The first `rows` rows of a data CSV with a header (e.g. the user's training data); the label is dropped."""
    from dataset.schema import read_csv

    table = read_csv(path)
    keep = [i for i, name in enumerate(table.header) if name != label_column]
    if not keep or table.n_rows == 0:
        raise EndpointCheckError(f"{path}: needs a header, feature columns besides {label_column!r} and data rows")
    return ProbeRows(tuple(table.header[i] for i in keep), table.values[:rows, keep])


# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestKind:
    """One kind of request: its body and what a correct answer looks like."""

    name: str
    content_type: str
    accept: str
    body: bytes
    rows: int  # rows in the request, counted from the first probe row
    expect_client_error: bool = False


def _csv_value(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def _json_value(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def csv_body(values: np.ndarray) -> bytes:
    """Rows as a text/csv body: no header, empty field for a missing value."""
    return "".join(",".join(_csv_value(v) for v in row) + "\n" for row in values.tolist()).encode()


def request_kinds(probe: ProbeRows, batch_rows: int = DEFAULT_BATCH_ROWS) -> list[RequestKind]:
    """The request kinds of the check; every kind starts at probe row 0, so answers are comparable."""
    batch = probe.values[: max(1, batch_rows)]
    first = probe.values[:1]
    named = {"instances": [{n: _json_value(v) for n, v in zip(probe.names, first[0].tolist(), strict=True)}]}
    listed = {"instances": [[_json_value(v) for v in row] for row in batch.tolist()]}
    n = len(batch)
    return [
        RequestKind("csv, 1 row", CSV, JSON, csv_body(first), 1),
        RequestKind(f"csv, {n} rows", CSV, CSV, csv_body(batch), n),
        RequestKind("json, 1 row (named)", JSON, JSON, json.dumps(named).encode(), 1),
        RequestKind(f"json, {n} rows", JSON, JSON, json.dumps(listed).encode(), n),
    ]


def malformed_kind(probe: ProbeRows) -> RequestKind:
    """A CSV row one column short: the model must answer 4xx."""
    if len(probe.names) < 2:
        raise EndpointCheckError("a malformed request needs a model with at least two features")
    return RequestKind(MALFORMED, CSV, JSON, csv_body(probe.values[:1, :-1]), 0, expect_client_error=True)


@dataclass(frozen=True)
class Outcome:
    """What one request got back; `status` is None when no HTTP answer arrived."""

    status: int | None
    content_type: str | None
    body: bytes
    elapsed_ms: float
    error: str | None = None


def invoke(client: Any, endpoint: str, kind: RequestKind) -> Outcome:
    """One InvokeEndpoint call; the model's own status is taken from a ModelError."""
    started = time.perf_counter()
    try:
        answer = client.invoke_endpoint(
            EndpointName=endpoint, ContentType=kind.content_type, Accept=kind.accept, Body=kind.body
        )
        body = answer["Body"].read()
        return Outcome(200, answer.get("ContentType"), body, _since(started))
    except ClientError as exc:
        elapsed = _since(started)
        response = exc.response
        error = response.get("Error", {})
        if "OriginalStatusCode" in response:
            # SageMaker Runtime wraps the container's non-2xx answer in a 424 ModelError.
            message = response.get("OriginalMessage") or error.get("Message", "")
            return Outcome(int(response["OriginalStatusCode"]), None, str(message).encode(), elapsed, "ModelError")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")
        return Outcome(status, None, text.encode(), elapsed, error.get("Code") or "ClientError")
    except BotoCoreError as exc:
        return Outcome(None, None, str(exc).encode(), _since(started), type(exc).__name__)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _shown(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


# --- answers ------------------------------------------------------------------------------------------


def check_answer(kind: RequestKind, outcome: Outcome) -> tuple[list[float] | None, list[str]]:
    """Scores of a correct answer (None for an expected error) and the problems found."""
    if kind.expect_client_error:
        if outcome.status is not None and 400 <= outcome.status < 500:
            text = outcome.body.decode("utf-8", "replace").strip()
            if not text or text.lower().startswith(("<!doctype", "<html")) or "Traceback" in text:
                return None, [
                    f"answered a malformed request with {outcome.status} but no plain message: {_shown(outcome.body)}"
                ]
            return None, []
        if outcome.status is not None and outcome.status < 300:
            return None, [f"accepted a malformed request with {outcome.status} (expected 4xx)"]
        return None, [f"answered a malformed request with {outcome.status}: {_shown(outcome.body)} (expected 4xx)"]
    if outcome.status != 200:
        return None, [f"status {outcome.status}: {_shown(outcome.body)}"]
    media_type = (outcome.content_type or "").split(";")[0].strip().lower()
    if media_type != kind.accept:
        return None, [f"content type {outcome.content_type!r}, asked for {kind.accept}"]
    try:
        pairs = _parse_json_answer(outcome.body) if kind.accept == JSON else _parse_csv_answer(outcome.body)
    except ValueError as exc:
        return None, [f"unreadable answer ({exc}): {_shown(outcome.body)}"]
    problems = []
    if len(pairs) != kind.rows:
        problems.append(f"{len(pairs)} predictions for {kind.rows} rows")
    for index, (score, label) in enumerate(pairs):
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            problems.append(f"row {index + 1}: score {score!r} is not a probability in [0, 1]")
            break
        if label != int(score >= LABEL_THRESHOLD):
            problems.append(f"row {index + 1}: label {label} does not match score {score:.6g}")
            break
    return (None if problems else [score for score, _ in pairs]), problems


def _parse_json_answer(body: bytes) -> list[tuple[float, int]]:
    document = json.loads(body)
    predictions = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(predictions, list):
        raise ValueError('expected {"predictions": [...]}')
    pairs = []
    for item in predictions:
        if not isinstance(item, dict) or not is_finite_number(item.get("score")) or item.get("label") not in (0, 1):
            raise ValueError('every prediction must be {"score": number, "label": 0 or 1}')
        pairs.append((float(item["score"]), int(item["label"])))
    return pairs


def _parse_csv_answer(body: bytes) -> list[tuple[float, int]]:
    pairs = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        score, _, label = line.partition(",")
        if label.strip() not in ("0", "1"):
            raise ValueError(f"line {number} is not `score,label`")
        pairs.append((float(score), int(label)))
    return pairs


# --- the check -------------------------------------------------------------------------------------------


@dataclass
class KindResult:
    """How the requests of one kind went."""

    name: str
    content_type: str
    accept: str
    rows: int
    expect_client_error: bool
    sent: int = 0
    passed: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    def percentile_ms(self, q: float) -> float | None:
        """Latency percentile `q` (0-100) of this kind's requests."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None

    @property
    def ok(self) -> bool:
        """Every request of the kind passed."""
        return self.sent > 0 and self.passed == self.sent

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "accept": self.accept,
            "rows": self.rows,
            "expect_client_error": self.expect_client_error,
            "sent": self.sent,
            "passed": self.passed,
            "p50_ms": self.percentile_ms(50),
            "p95_ms": self.percentile_ms(95),
            "problems": dict(self.problems),
        }


@dataclass(frozen=True)
class EndpointCheckReport:
    """The whole check: per-kind results, cross-request problems, or why it stopped early."""

    endpoint: str
    kinds: list[KindResult]
    consistency_problems: list[str]
    aborted: str | None = None

    @property
    def passed(self) -> bool:
        """Every request answered correctly and consistently."""
        return self.aborted is None and not self.consistency_problems and all(k.ok for k in self.kinds)

    @property
    def requests(self) -> int:
        """Requests sent in total."""
        return sum(k.sent for k in self.kinds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "endpoint": self.endpoint,
            "passed": self.passed,
            "requests": self.requests,
            "aborted": self.aborted,
            "kinds": [k.to_dict() for k in self.kinds],
            "consistency_problems": self.consistency_problems,
        }


def check_endpoint(
    client: Any,
    endpoint: str,
    probe: ProbeRows,
    requests_per_kind: int = 20,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> EndpointCheckReport:
    """Send the first request, `requests_per_kind` of each kind and one malformed request; check every answer."""
    if requests_per_kind < 1:
        raise EndpointCheckError(f"requests per kind must be at least 1, got {requests_per_kind}")
    kinds = request_kinds(probe, batch_rows)
    first_kind = RequestKind(FIRST_REQUEST, CSV, JSON, kinds[0].body, 1)
    plan = [(first_kind, 1), *((kind, requests_per_kind) for kind in kinds), (malformed_kind(probe), 1)]
    results: list[KindResult] = []
    scores: dict[str, list[list[float]]] = {}
    for kind, count in plan:
        result = KindResult(kind.name, kind.content_type, kind.accept, kind.rows, kind.expect_client_error)
        results.append(result)
        for _ in range(count):
            outcome = invoke(client, endpoint, kind)
            result.sent += 1
            result.latencies_ms.append(outcome.elapsed_ms)
            if kind is first_kind and _unreachable(outcome):
                reason = f"{outcome.error}: {_shown(outcome.body)}"
                result.problems[reason] += 1
                return EndpointCheckReport(endpoint, results, [], aborted=reason)
            answer, problems = check_answer(kind, outcome)
            if problems:
                result.problems.update(problems)
                continue
            result.passed += 1
            if answer is not None:
                scores.setdefault(kind.name, []).append(answer)
    return EndpointCheckReport(endpoint, results, consistency_problems(scores))


def _unreachable(outcome: Outcome) -> bool:
    """No HTTP answer, or the runtime itself refused (unknown endpoint, no permission): stop at once."""
    if outcome.status is None:
        return True
    return outcome.error not in (None, "ModelError") and outcome.status < 500


def consistency_problems(scores: dict[str, list[list[float]]]) -> list[str]:
    """Compare answers across requests: repeats agree, formats agree on row 1 and on the batch, batches vary."""
    problems = []
    for name, answers in scores.items():
        first = answers[0]
        if any(not _close(first, other) for other in answers[1:]):
            problems.append(f"{name}: repeated requests got different scores")
        if len(first) >= 10 and max(first) - min(first) < SCORE_TOLERANCE:
            problems.append(f"{name}: every row got the same score {first[0]:.6g} (a constant answer)")
    row_one = {name: answers[0][0] for name, answers in scores.items() if answers and answers[0]}
    if row_one and max(row_one.values()) - min(row_one.values()) > SCORE_TOLERANCE:
        shown = ", ".join(f"{name}: {value:.9g}" for name, value in row_one.items())
        problems.append(f"row 1 got different scores by request format ({shown})")
    batches = [(name, answers[0]) for name, answers in scores.items() if len(answers[0]) > 1]
    for (name_a, a), (name_b, b) in itertools.pairwise(batches):
        if not _close(a, b):
            problems.append(f"{name_a} and {name_b} scored the same rows differently")
    return problems


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= SCORE_TOLERANCE for x, y in zip(a, b, strict=True))


def render_check(report: EndpointCheckReport, console: Console | None = None) -> None:
    """Print the check as a table: one row per request kind, then the verdict."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"test-endpoint {report.endpoint}", title_justify="left", box=box.SIMPLE_HEAD)
    for header, justify in (("request", "left"), ("sent", "right"), ("passed", "right"), ("p50 ms", "right"),
                            ("p95 ms", "right"), ("problems", "left")):  # fmt: skip
        table.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for kind in report.kinds:
        style = "green" if kind.ok else "bold red"
        p50, p95 = kind.percentile_ms(50), kind.percentile_ms(95)
        problems = "; ".join(f"{text} (x{count})" if count > 1 else text for text, count in kind.problems.items())
        problems = escape(problems)  # answers quoted in problems are data, not markup
        table.add_row(
            kind.name,
            str(kind.sent),
            f"[{style}]{kind.passed}[/]",
            "-" if p50 is None else f"{p50:.1f}",
            "-" if p95 is None else f"{p95:.1f}",
            problems,
        )
    console.print(table)
    for problem in report.consistency_problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}")
    if report.aborted:
        console.print(f"[bold red]stopped after the first request:[/] {escape(report.aborted)}")
    verdict = "[bold green]PASS[/]" if report.passed else "[bold red]FAIL[/]"
    console.print(f"{verdict}: {report.requests} requests to {report.endpoint}")
