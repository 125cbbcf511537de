"""Drift statistics from per-bin counts: what the drift job computes after the SQL aggregation.

Pure Python (no numpy): the drift Lambda ships without layers and only ever sees a few hundred
counts. Every statistic compares the current window with the baseline's bins
(`monitoring.baseline.BinnedDistribution`); thresholds are effect sizes, not p-values, because
with millions of rows every p-value is tiny (README, Monitoring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitoring.baseline import BinnedDistribution

# PSI's log ratio is infinite for an empty bin. Shares are floored at 1e-4 (0.01 %), the usual
# choice in credit-risk practice: a bin that empties completely (baseline ~5 % of ~20 bins)
# contributes about 0.05 * ln(0.05 / 1e-4) = 0.31, an alert on its own, which is right.
PSI_EPSILON = 1e-4

OK, WARN, ALERT, NO_DATA = "ok", "warn", "alert", "no_data"
_SEVERITY = {OK: 0, WARN: 1, ALERT: 2}


@dataclass(frozen=True)
class DriftThresholds:
    """The drift settings (`drift_psi_warn`, `drift_psi_alert`, `drift_mean_shift_sd`, `drift_min_rows`)."""

    psi_warn: float
    psi_alert: float
    mean_shift_sd: float
    min_rows: int

    @classmethod
    def from_settings(cls, settings: Any) -> DriftThresholds:
        """Take the thresholds from a `mlops_core.settings.Settings` (already validated there)."""
        return cls(
            psi_warn=settings.drift_psi_warn,
            psi_alert=settings.drift_psi_alert,
            mean_shift_sd=settings.drift_mean_shift_sd,
            min_rows=settings.drift_min_rows,
        )


@dataclass(frozen=True)
class ColumnCounts:
    """What the SQL aggregation returns for one feature (or the score) over a window.

    `le_counts[k]` counts finite values `<= edges[k]`; `count` counts finite values and `total`
    is their sum; `missing` counts null or non-finite values; `out_of_range` counts values
    outside the baseline's plausible range.
    """

    le_counts: tuple[int, ...]
    count: int
    total: float
    missing: int
    out_of_range: int

    def bin_counts(self) -> list[int]:
        """Return counts per baseline bin (K+1 of them) from the cumulative counts at the K edges."""
        bins, previous = [], 0
        for at_or_below in self.le_counts:
            bins.append(at_or_below - previous)
            previous = at_or_below
        bins.append(self.count - previous)
        if any(b < 0 for b in bins):
            raise ValueError(
                f"cumulative edge counts must be ascending and <= count, got {self.le_counts}, {self.count}"
            )
        return bins


@dataclass(frozen=True)
class FeatureDrift:
    """The drift statistics of one feature (or of the score) and its status (`ok`, `warn`, `alert`).

    The distribution statistics are None when the window held no finite value of the feature.
    """

    name: str
    psi: float | None
    js_distance: float | None
    ks_distance: float | None
    mean_shift_sd: float | None
    missing_share: float
    out_of_range_share: float
    status: str

    def as_dict(self) -> dict[str, Any]:
        """Return the report's JSON shape (docs/contracts.md, drift report)."""
        return {
            "name": self.name,
            "psi": self.psi,
            "js_distance": self.js_distance,
            "ks_distance": self.ks_distance,
            "mean_shift_sd": self.mean_shift_sd,
            "missing_share": self.missing_share,
            "out_of_range_share": self.out_of_range_share,
            "status": self.status,
        }


def shares_from_counts(counts: Sequence[int]) -> list[float]:
    """Turn counts into shares of their total (all zeros for an empty total)."""
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0 for _ in counts]


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON) -> float:
    """Compute the population stability index: sum of (a - e) * ln(a / e), shares floored at `epsilon`."""
    _same_length(expected, actual)
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, epsilon), max(a, epsilon)
        total += (a - e) * math.log(a / e)
    return total


def js_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Compute the Jensen-Shannon distance, base 2 (sqrt of the divergence, in [0, 1]); no epsilon needed."""
    _same_length(p, q)
    p_total, q_total = sum(p), sum(q)
    if p_total <= 0 or q_total <= 0:
        raise ValueError("Jensen-Shannon distance needs two non-empty distributions")
    divergence = 0.0
    for p_i, q_i in zip(p, q, strict=True):
        p_i, q_i = p_i / p_total, q_i / q_total
        # x * log2(x / m) with m = (p + q) / 2, written so that a subnormal m cannot round to zero.
        if p_i > 0:
            divergence += p_i * math.log2(2 * p_i / (p_i + q_i)) / 2
        if q_i > 0:
            divergence += q_i * math.log2(2 * q_i / (p_i + q_i)) / 2
    # Rounding can take a zero divergence a hair below zero.
    return math.sqrt(max(divergence, 0.0))


def ks_distance_at_edges(baseline_cdf: Sequence[float], le_counts: Sequence[int], count: int) -> float:
    """Kolmogorov-Smirnov distance evaluated at the bin edges: max |F_baseline(e) - F_current(e)|.

    A lower bound of the true KS statistic; the gap is at most the largest bin share.
    """
    _same_length(baseline_cdf, le_counts)
    if count <= 0:
        raise ValueError("KS distance needs at least one current value")
    return max((abs(b - c / count) for b, c in zip(baseline_cdf, le_counts, strict=True)), default=0.0)


def mean_shift_sd(total: float, count: int, baseline_mean: float, baseline_std: float) -> float:
    """Shift of the current mean from the baseline mean, in baseline standard deviations.

    A constant baseline feature (std 0) uses a tiny floor instead, so any shift is reported as
    huge but finite (JSON and CloudWatch take no infinities).
    """
    if count <= 0:
        raise ValueError("mean shift needs at least one current value")
    scale = max(baseline_std, 1e-12 * max(1.0, abs(baseline_mean)))
    return (total / count - baseline_mean) / scale


def drift_status(psi_value: float, shift_sd: float, thresholds: DriftThresholds) -> str:
    """Status of one feature from its PSI and mean shift.

    `alert`: PSI >= psi_alert, or |mean shift| >= mean_shift_sd with PSI >= psi_warn (two
    effect sizes agree). `warn`: PSI >= psi_warn, or |mean shift| >= mean_shift_sd alone (a
    mean moves with a few extreme values while the binned shape stays put). `ok` otherwise.
    """
    shifted = abs(shift_sd) >= thresholds.mean_shift_sd
    if psi_value >= thresholds.psi_alert or (shifted and psi_value >= thresholds.psi_warn):
        return ALERT
    if psi_value >= thresholds.psi_warn or shifted:
        return WARN
    return OK


def worst_status(statuses: Sequence[str]) -> str:
    """Return the most severe of some `ok`/`warn`/`alert` statuses (`ok` for none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=OK)


def feature_drift(
    baseline: BinnedDistribution, counts: ColumnCounts, rows: int, thresholds: DriftThresholds
) -> FeatureDrift:
    """All statistics and the status of one feature over a window of `rows` captured rows.

    PSI, JS and KS compare the finite values only; missing and out-of-range values are shares of
    all rows. A feature without a single finite value in the window is an `alert`: the input
    that feeds the model is gone.
    """
    if len(counts.le_counts) != len(baseline.edges):
        raise ValueError(
            f"feature {baseline.name}: {len(counts.le_counts)} edge counts for {len(baseline.edges)} baseline edges"
        )
    if rows <= 0:
        raise ValueError(f"feature {baseline.name}: drift needs at least one row")
    missing_share = counts.missing / rows
    out_of_range_share = counts.out_of_range / rows
    if counts.count == 0:
        return FeatureDrift(baseline.name, None, None, None, None, missing_share, out_of_range_share, ALERT)
    current = shares_from_counts(counts.bin_counts())
    psi_value = psi(baseline.shares, current)
    shift = mean_shift_sd(counts.total, counts.count, baseline.mean, baseline.std)
    return FeatureDrift(
        name=baseline.name,
        psi=psi_value,
        js_distance=js_distance(baseline.shares, current),
        ks_distance=ks_distance_at_edges(baseline.cdf_at_edges, counts.le_counts, counts.count),
        mean_shift_sd=shift,
        missing_share=missing_share,
        out_of_range_share=out_of_range_share,
        status=drift_status(psi_value, shift, thresholds),
    )


def _same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"distributions must have the same number of bins, got {len(a)} and {len(b)}")
