"""The drift report (docs/contracts.md): build it from query counts and turn it into metrics.

The drift Lambda and `mlops drift` both end here, so the S3 report, the CloudWatch metrics and
the terminal table (`monitoring.tools.drift_table`) say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlops_core.naming import DRIFT_REPORTS_PREFIX
from monitoring import metrics as m
from monitoring.baseline import Baseline
from monitoring.drift_query import TimeWindow, WindowCounts
from monitoring.drift_stats import ALERT, NO_DATA, DriftThresholds, FeatureDrift, feature_drift, worst_status

# Report keys -> metric names; the order is the table's column order.
STATISTIC_METRICS = {
    "psi": m.PSI,
    "js_distance": m.JS_DISTANCE,
    "ks_distance": m.KS_DISTANCE,
    "mean_shift_sd": m.MEAN_SHIFT_SD,
    "missing_share": m.MISSING_SHARE,
    "out_of_range_share": m.OUT_OF_RANGE_SHARE,
}
# PutMetricData takes at most 1000 metrics per call.
METRICS_PER_CALL = 1000


def build_report(
    baseline: Baseline,
    counts: WindowCounts,
    thresholds: DriftThresholds,
    *,
    endpoint: str,
    window: TimeWindow | None,
) -> dict[str, Any]:
    """Build the drift report of one window.

    Fewer than `min_rows` rows is `no_data`, with empty `features` and null `score` and
    `worst`: no statistic is computed from a sample too small to mean anything. Otherwise the
    report's status is the worst status of the features and the score, and `worst` is the
    feature or score with the highest PSI.
    """
    window_dict = window.as_dict() if window else {"start": counts.first_ts, "end": counts.last_ts}
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "window": window_dict,
        "rows": counts.rows,
        "status": NO_DATA,
        "features": [],
        "score": None,
        "worst": None,
        "skipped_lines": counts.invalid_records,
        "other_model_rows": counts.other_model_rows,
    }
    if counts.rows < thresholds.min_rows or counts.rows == 0:
        return report
    features = [
        feature_drift(dist, column, counts.rows, thresholds)
        for dist, column in zip(baseline.features, counts.features, strict=True)
    ]
    score = feature_drift(baseline.score, counts.score, counts.rows, thresholds)
    report["features"] = [f.as_dict() for f in features]
    report["score"] = score.as_dict()
    report["status"] = worst_status([f.status for f in (*features, score)])
    report["worst"] = _worst([*features, score])
    return report


def _worst(drifts: list[FeatureDrift]) -> dict[str, Any] | None:
    scored = [d for d in drifts if d.psi is not None]
    if not scored:
        # Every column lost all its values: name the first, its PSI cannot be computed.
        return {"name": drifts[0].name, "psi": None} if drifts else None
    worst = max(scored, key=lambda d: d.psi or 0.0)
    return {"name": worst.name, "psi": worst.psi}


def report_columns(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the features of a report followed by the score (empty for `no_data`)."""
    columns = list(report.get("features") or [])
    if report.get("score"):
        columns.append(report["score"])
    return columns


def metric_data(report: Mapping[str, Any], timestamp: datetime) -> list[dict[str, Any]]:
    """Turn the report into CloudWatch `MetricData` (namespace `metrics.DRIFT_NAMESPACE`).

    Per feature and for the score (Feature=prediction_score): the published statistics
    (`metrics.PUBLISHED_PER_FEATURE_METRICS`) with dimensions EndpointName and Feature. Per run:
    CapturedRows always; MaxPSI and DriftedFeatures (features and score in `alert`) only when
    there was data, so a window without traffic leaves the drift alarm's metric missing rather
    than reporting "no drift".
    """
    endpoint = report["endpoint"]
    run_dims = [{"Name": m.DIM_ENDPOINT, "Value": endpoint}]
    data = [_datum(m.CAPTURED_ROWS, report["rows"], run_dims, timestamp, "Count")]
    if report["status"] == NO_DATA:
        return data
    columns = report_columns(report)
    for column in columns:
        dims = [*run_dims, {"Name": m.DIM_FEATURE, "Value": column["name"]}]
        for key, metric_name in STATISTIC_METRICS.items():
            if metric_name in m.PUBLISHED_PER_FEATURE_METRICS and column.get(key) is not None:
                data.append(_datum(metric_name, column[key], dims, timestamp, "None"))
    drifted = sum(1 for c in columns if c["status"] == ALERT)
    data.append(_datum(m.DRIFTED_FEATURES, drifted, run_dims, timestamp, "Count"))
    worst = report.get("worst") or {}
    if worst.get("psi") is not None:
        data.append(_datum(m.MAX_PSI, worst["psi"], run_dims, timestamp, "None"))
    return data


def _datum(name: str, value: float, dims: list[dict[str, str]], timestamp: datetime, unit: str) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": dims,
        "Timestamp": timestamp,
        "Value": float(value),
        "Unit": unit,
    }


def report_keys(endpoint: str, when: datetime) -> tuple[str, str]:
    """S3 keys of a report: `reports/drift/<endpoint>/YYYY/MM/DD/HHMMSS.json` and `…/latest.json`."""
    stamp = when.astimezone(UTC).strftime("%Y/%m/%d/%H%M%S")
    return f"{DRIFT_REPORTS_PREFIX}/{endpoint}/{stamp}.json", latest_report_key(endpoint)


def latest_report_key(endpoint: str) -> str:
    """S3 key of the newest drift report of an endpoint."""
    return f"{DRIFT_REPORTS_PREFIX}/{endpoint}/latest.json"
