"""Drift statistics from counts (monitoring.drift_stats) against numpy/scipy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from mlops_core.settings import Settings
from monitoring.baseline import BinnedDistribution, parse_baseline
from monitoring.drift_stats import (
    ALERT,
    OK,
    PSI_EPSILON,
    WARN,
    ColumnCounts,
    DriftThresholds,
    drift_status,
    feature_drift,
    js_distance,
    ks_distance_at_edges,
    mean_shift_sd,
    psi,
    shares_from_counts,
    worst_status,
)
from monitoring.tools import synthetic_drift as sd

THRESHOLDS = DriftThresholds.from_settings(Settings())
DRIFTED = (0, 6, 12, 13, 19)
N_FEATURES = 20


@pytest.fixture(scope="module")
def samples() -> dict:
    names = sd.feature_names(N_FEATURES)
    reference, ref_score = sd.sample(20_000, N_FEATURES, seed=11)
    current, _ = sd.sample(20_000, N_FEATURES, seed=12, drifted=DRIFTED, missing_share=0.02)
    baseline = parse_baseline(sd.baseline_document(reference, ref_score, names))
    return {"reference": reference, "current": current, "baseline": baseline}


def counts_of(values: np.ndarray, dist: BinnedDistribution) -> ColumnCounts:
    """What the SQL aggregation computes, computed with numpy from raw values."""
    finite = values[np.isfinite(values)]
    lo, hi = dist.range
    return ColumnCounts(
        le_counts=tuple(int(np.sum(finite <= e)) for e in dist.edges),
        count=len(finite),
        total=float(finite.sum()),
        missing=int(np.sum(~np.isfinite(values))),
        out_of_range=int(np.sum((finite < lo) | (finite > hi))),
    )


def numpy_shares(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    finite = values[np.isfinite(values)]
    # side="left": a value equal to an edge belongs to the bin below it (v <= edge), as in the contract.
    return np.bincount(np.searchsorted(edges, finite, side="left"), minlength=len(edges) + 1) / len(finite)


def test_psi_matches_the_textbook_value_for_two_bins() -> None:
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5), rel=1e-12)


def test_psi_floors_an_empty_bin_at_the_documented_epsilon() -> None:
    expected = (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert psi([0.5, 0.5], [0.0, 1.0]) == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(psi([0.0, 1.0], [1.0, 0.0]))


def test_every_statistic_matches_numpy_and_scipy_on_every_feature(samples: dict) -> None:
    baseline, reference, current = samples["baseline"], samples["reference"], samples["current"]
    for j, dist in enumerate(baseline.features):
        ref, cur = reference[:, j], current[:, j]
        result = feature_drift(dist, counts_of(cur, dist), len(cur), THRESHOLDS)
        base_shares = numpy_shares(ref, dist.edges)
        cur_shares = numpy_shares(cur, dist.edges)
        np.testing.assert_allclose(dist.shares, base_shares, rtol=0, atol=1e-12)

        e, a = np.maximum(base_shares, PSI_EPSILON), np.maximum(cur_shares, PSI_EPSILON)
        assert result.psi == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9, abs=1e-12)
        assert result.js_distance == pytest.approx(float(jensenshannon(base_shares, cur_shares, base=2)), abs=1e-9)

        finite_cur = cur[np.isfinite(cur)]
        at_edges = max(abs(np.mean(ref <= edge) - np.mean(finite_cur <= edge)) for edge in dist.edges)
        assert result.ks_distance == pytest.approx(at_edges, abs=1e-12)
        # The edge-evaluated KS bounds the true two-sample statistic within one bin's share.
        true_ks = ks_2samp(ref, finite_cur).statistic
        assert result.ks_distance <= true_ks + 1e-12
        assert true_ks <= result.ks_distance + max(base_shares.max(), cur_shares.max()) + 1e-12

        assert result.mean_shift_sd == pytest.approx((finite_cur.mean() - ref.mean()) / ref.std(), rel=1e-9, abs=1e-12)
        assert result.missing_share == pytest.approx(np.mean(~np.isfinite(cur)), abs=1e-15)
        lo, hi = dist.range
        assert result.out_of_range_share == pytest.approx(np.sum((finite_cur < lo) | (finite_cur > hi)) / len(cur))


def test_every_drifted_feature_alerts_and_no_stable_feature_is_flagged(samples: dict) -> None:
    baseline, current = samples["baseline"], samples["current"]
    statuses = {
        dist.name: feature_drift(dist, counts_of(current[:, j], dist), len(current), THRESHOLDS).status
        for j, dist in enumerate(baseline.features)
    }
    drifted = {baseline.features[j].name for j in DRIFTED}
    assert {name for name, status in statuses.items() if status == ALERT} == drifted
    assert all(status == OK for name, status in statuses.items() if name not in drifted)


def test_missing_values_count_as_missing_not_as_drift(samples: dict) -> None:
    baseline, current = samples["baseline"], samples["current"]
    result = feature_drift(
        baseline.features[1], counts_of(current[:, 1], baseline.features[1]), len(current), THRESHOLDS
    )
    assert 0.015 < result.missing_share < 0.025
    assert result.status == OK


@pytest.mark.parametrize(
    ("psi_value", "shift", "status"),
    [
        (0.05, 0.0, OK),
        (0.05, 0.24, OK),
        (0.1, 0.0, WARN),  # PSI at the warn threshold
        (0.05, -0.3, WARN),  # mean shift alone: a few extreme values can move a mean
        (0.15, 0.1, WARN),
        (0.15, 0.3, ALERT),  # both effect sizes agree
        (0.15, -0.25, ALERT),
        (0.2, 0.0, ALERT),  # PSI at the alert threshold
    ],
)
def test_status_rule_combines_psi_and_mean_shift(psi_value: float, shift: float, status: str) -> None:
    assert drift_status(psi_value, shift, THRESHOLDS) == status


def test_worst_status_orders_alert_over_warn_over_ok() -> None:
    assert worst_status([OK, ALERT, WARN]) == ALERT
    assert worst_status([OK, WARN]) == WARN
    assert worst_status([]) == OK


def test_a_feature_without_any_finite_value_is_an_alert_without_statistics() -> None:
    dist = BinnedDistribution("f", (0.0,), (0.5, 0.5), 0.0, 1.0, -3.0, 3.0, (-5.0, 5.0))
    result = feature_drift(dist, ColumnCounts((0,), 0, 0.0, 300, 0), 300, THRESHOLDS)
    assert result.status == ALERT
    assert result.missing_share == 1.0
    assert result.psi is None and result.js_distance is None and result.ks_distance is None


def test_a_constant_baseline_feature_reports_a_finite_mean_shift() -> None:
    assert mean_shift_sd(10.0, 10, 1.0, 0.0) == 0.0
    shifted = mean_shift_sd(20.0, 10, 1.0, 0.0)
    assert math.isfinite(shifted) and shifted > 1e6


def test_inconsistent_counts_are_rejected_with_a_message() -> None:
    with pytest.raises(ValueError, match="ascending"):
        ColumnCounts((5, 3), 10, 0.0, 0, 0).bin_counts()
    dist = BinnedDistribution("f", (0.0, 1.0), (0.3, 0.4, 0.3), 0.0, 1.0, -3.0, 3.0, (None, None))
    with pytest.raises(ValueError, match="1 edge counts for 2 baseline edges"):
        feature_drift(dist, ColumnCounts((1,), 2, 0.0, 0, 0), 2, THRESHOLDS)


def test_ks_distance_is_the_largest_cdf_gap_at_the_edges() -> None:
    assert ks_distance_at_edges([0.5], [100], 100) == pytest.approx(0.5)
    assert ks_distance_at_edges([0.2, 0.7], [20, 20], 100) == pytest.approx(0.5)


# Bin counts, as the query returns them; shares are counts over their total.
bin_counts = st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=2, max_size=25).filter(any)


@given(bin_counts, st.data())
def test_statistics_stay_in_their_ranges_and_agree_with_scipy(p_counts: list[int], data: st.DataObject) -> None:
    q_counts = data.draw(
        st.lists(st.integers(0, 1_000_000), min_size=len(p_counts), max_size=len(p_counts)).filter(any)
    )
    p, q = shares_from_counts(p_counts), shares_from_counts(q_counts)
    assert psi(p, q) >= 0.0
    assert psi(p, p) == 0.0
    distance = js_distance(p, q)
    assert 0.0 <= distance <= 1.0
    assert distance == pytest.approx(js_distance(q, p), abs=1e-12)
    assert distance == pytest.approx(float(jensenshannon(p, q, base=2)), abs=1e-7)


def test_js_distance_survives_subnormal_shares() -> None:
    assert js_distance([5e-324, 1.0], [0.0, 1.0]) == pytest.approx(0.0, abs=1e-150)
