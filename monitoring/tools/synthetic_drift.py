"""Synthetic traffic with known drift, and a baseline built from a sample the way the contract says.

For tests and benchmarks of the drift path (not imported by any Lambda; needs numpy): a
reference sample, a current sample in which chosen features drift by a known, material amount,
capture lines for them, and `baseline.json` content (docs/contracts.md) computed from the
reference with numpy, independently of the pure-Python statistics under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from model_code.train import distribution_baseline
from monitoring.capture import CAPTURE_MARKER, CAPTURE_VERSION
from monitoring.drift_query import iso_utc
from monitoring.metrics import SCORE_FEATURE as SCORE_NAME


@dataclass(frozen=True)
class FeatureKind:
    """How one synthetic feature is drawn, before and after drift, and its plausible range."""

    family: str
    range: tuple[float, float]


# Five families, repeated: continuous symmetric, skewed, bounded, heavy-ish tail, and discrete
# (ties at the bin edges exercise the `v <= edge` convention).
FAMILIES = (
    FeatureKind("normal", (0.0, 100.0)),
    FeatureKind("lognormal", (0.0, 20.0)),
    FeatureKind("uniform", (0.0, 100.0)),
    FeatureKind("exponential", (0.0, 30.0)),
    FeatureKind("poisson", (0.0, 20.0)),
)


def feature_names(n_features: int) -> list[str]:
    """Names of the synthetic features, in schema order."""
    return [f"{FAMILIES[j % len(FAMILIES)].family}_{j:02d}" for j in range(n_features)]


def _draw(family: str, drifted: bool, n: int, rng: np.random.Generator) -> np.ndarray:
    # Each drift is material: PSI well above 0.2 on its own (checked by the tests).
    if family == "normal":
        return rng.normal(55.0 if drifted else 50.0, 10.0, n)
    if family == "lognormal":
        return rng.lognormal(0.0, 0.75 if drifted else 0.5, n)
    if family == "uniform":
        return rng.uniform(15.0, 115.0, n) if drifted else rng.uniform(0.0, 100.0, n)
    if family == "exponential":
        return rng.exponential(3.0 if drifted else 2.0, n)
    return rng.poisson(4.2 if drifted else 3.0, n).astype(np.float64)


def sample(
    n_rows: int, n_features: int, seed: int, drifted: Sequence[int] = (), missing_share: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rows × features (NaN = missing) and the prediction score; features in `drifted` drift.

    Needs at least 4 features (the score is computed from features 1-3).

    Values are rounded to 4 decimals, like numbers a client sends in CSV. `missing_share` of the
    values of feature 1 are missing (a stable feature, so missing values must not raise drift).
    """
    if n_features < 4:
        raise ValueError(f"synthetic samples need at least 4 features, got {n_features}")
    rng = np.random.default_rng(seed)
    columns = [_draw(FAMILIES[j % len(FAMILIES)].family, j in drifted, n_rows, rng) for j in range(n_features)]
    x = np.round(np.column_stack(columns), 4)
    # The score depends on features 1-3 only (standardised with their reference moments), so it
    # drifts exactly when one of them does.
    logits = (x[:, 1] - 1.13) / 0.6 + (x[:, 2] - 50.0) / 28.9 - (x[:, 3] - 2.0) / 2.0
    score = np.round(1.0 / (1.0 + np.exp(-0.8 * logits)), 6)
    if missing_share > 0:
        x[rng.random(n_rows) < missing_share, 1] = np.nan
    return x, score


def baseline_document(x: np.ndarray, score: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """`baseline.json` content for a reference sample (quantile edges, shares, moments, range)."""
    # The training script's own writer, so drift tests run on baselines exactly as train.py makes them.
    features = [distribution_baseline(name, x[:, j], FAMILIES[j % len(FAMILIES)].range) for j, name in enumerate(names)]
    return {
        "version": 1,
        "n_rows": int(x.shape[0]),
        "features": features,
        "score": distribution_baseline(SCORE_NAME, score, (0.0, 1.0)),
    }


def capture_records(
    x: np.ndarray, score: np.ndarray, start: datetime, seconds_per_row: float, rows_per_request: int
) -> Iterator[dict[str, Any]]:
    """Capture records (docs/contracts.md) for the rows, grouped into requests of `rows_per_request`."""
    for row in range(x.shape[0]):
        request, i = divmod(row, rows_per_request)
        n = min(rows_per_request, x.shape[0] - request * rows_per_request)
        yield {
            "v": CAPTURE_VERSION,
            "ts": iso_utc(start + timedelta(seconds=row * seconds_per_row)),
            "request_id": f"req-{request:08d}",
            "model_id": "synthetic-model",
            "i": i,
            "n": n,
            "x": [None if np.isnan(v) else float(v) for v in x[row]],
            "score": float(score[row]),
        }


def capture_log_line(record: dict[str, Any], prefix: str = "") -> str:
    """Return the line the inference handler prints for a record (optionally after a logger prefix)."""
    return f"{prefix}{CAPTURE_MARKER} {json.dumps(record, separators=(',', ':'))}"
