"""The endpoint's CloudWatch metrics over a window, in the units people read (ms, %).

GetMetricData per period for the plotted series, totals from Sum and SampleCount, and ModelLatency
percentiles in a separate call: AWS documents percentiles only for ModelSetupTime, so when they fail
or come back empty the report falls back to average and maximum and says so in a note.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from monitoring import metrics as m
from monitoring.tools.health.targets import HealthError, short_error

MAX_SERIES_POINTS = 120  # points per plotted series: enough to see a pattern, few enough to read
MAX_HOURS = 24 * 63  # CloudWatch keeps 5-minute data for 63 days
ONE_MINUTE_DATA_DAYS = 15  # CloudWatch keeps 1-minute data for 15 days
PERCENTILES = ("p50", "p90", "p99")


@dataclass(frozen=True)
class Series:
    """One metric statistic per period, oldest first."""

    timestamps: tuple[datetime, ...] = ()
    values: tuple[float, ...] = ()

    @classmethod
    def from_points(cls, points: Iterable[tuple[datetime, float]]) -> Series:
        """Build a series from (timestamp, value) pairs in any order."""
        ordered = sorted(points, key=lambda point: point[0])
        return cls(tuple(t for t, _ in ordered), tuple(float(v) for _, v in ordered))

    def as_map(self) -> dict[datetime, float]:
        """Timestamp → value."""
        return dict(zip(self.timestamps, self.values, strict=True))

    def scaled(self, factor: float) -> Series:
        """Every value multiplied by `factor` (unit conversion)."""
        return Series(self.timestamps, tuple(v * factor for v in self.values))

    def total(self) -> float:
        """Sum of the values."""
        return math.fsum(self.values)

    def peak(self) -> float | None:
        """Largest value, or None for an empty series."""
        return max(self.values) if self.values else None

    def __len__(self) -> int:
        return len(self.values)


def ratio_series(numerator: Series, denominator: Series, factor: float = 1.0) -> Series:
    """numerator/denominator per period where both exist and the denominator is not zero."""
    below = denominator.as_map()
    return Series.from_points(
        (t, factor * v / below[t]) for t, v in zip(numerator.timestamps, numerator.values, strict=True) if below.get(t)
    )


# (query id, namespace, metric name, statistic): the per-period statistics the report is built from.
SERIES_QUERIES: tuple[tuple[str, str, str, str], ...] = (
    ("invocations", m.SAGEMAKER_NAMESPACE, m.INVOCATIONS, "Sum"),
    ("e4_sum", m.SAGEMAKER_NAMESPACE, m.INVOCATION_4XX, "Sum"),
    ("e4_n", m.SAGEMAKER_NAMESPACE, m.INVOCATION_4XX, "SampleCount"),
    ("e5_sum", m.SAGEMAKER_NAMESPACE, m.INVOCATION_5XX, "Sum"),
    ("e5_n", m.SAGEMAKER_NAMESPACE, m.INVOCATION_5XX, "SampleCount"),
    ("latency_sum", m.SAGEMAKER_NAMESPACE, m.MODEL_LATENCY, "Sum"),
    ("latency_n", m.SAGEMAKER_NAMESPACE, m.MODEL_LATENCY, "SampleCount"),
    ("latency_max", m.SAGEMAKER_NAMESPACE, m.MODEL_LATENCY, "Maximum"),
    ("overhead_sum", m.SAGEMAKER_NAMESPACE, m.OVERHEAD_LATENCY, "Sum"),
    ("overhead_n", m.SAGEMAKER_NAMESPACE, m.OVERHEAD_LATENCY, "SampleCount"),
    ("overhead_max", m.SAGEMAKER_NAMESPACE, m.OVERHEAD_LATENCY, "Maximum"),
    ("setup_sum", m.SAGEMAKER_NAMESPACE, m.MODEL_SETUP_TIME, "Sum"),
    ("setup_n", m.SAGEMAKER_NAMESPACE, m.MODEL_SETUP_TIME, "SampleCount"),
    ("setup_max", m.SAGEMAKER_NAMESPACE, m.MODEL_SETUP_TIME, "Maximum"),
    ("memory_avg", m.ENDPOINT_INSTANCE_NAMESPACE, m.MEMORY_UTILIZATION, "Average"),
    ("memory_max", m.ENDPOINT_INSTANCE_NAMESPACE, m.MEMORY_UTILIZATION, "Maximum"),
)


@dataclass(frozen=True)
class TimeRange:
    """The report's window and the period of its plotted series."""

    start: datetime
    end: datetime
    period_seconds: int

    @classmethod
    def last_hours(cls, hours: float, now: datetime | None = None) -> TimeRange:
        """The last `hours` up to the end of the current minute, with a period giving ≤ MAX_SERIES_POINTS."""
        if not 0 < hours <= MAX_HOURS:
            raise HealthError(f"--hours must be more than 0 and at most {MAX_HOURS}, got {hours}")
        now = (now or datetime.now(UTC)).astimezone(UTC)
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        # Periods are whole minutes; data older than 15 days exists only at 5-minute resolution,
        # where a finer period (or a window that is not a multiple of it) is refused.
        step = 300 if hours * 3600 > ONE_MINUTE_DATA_DAYS * 86400 else 60
        window = max(step, round(hours * 3600 / step) * step)
        period = max(step, math.ceil(window / MAX_SERIES_POINTS / step) * step)
        return cls(end - timedelta(seconds=window), end, period)

    @property
    def seconds(self) -> int:
        """Length of the window in seconds (a multiple of 60, as GetMetricData periods must be)."""
        return int((self.end - self.start).total_seconds())


def endpoint_dimensions(endpoint: str) -> list[dict[str, str]]:
    """The dimensions SageMaker publishes endpoint metrics under: EndpointName and VariantName."""
    return [{"Name": m.DIM_ENDPOINT, "Value": endpoint}, {"Name": m.DIM_VARIANT, "Value": m.VARIANT_NAME}]


def metric_queries(
    endpoint: str, queries: Sequence[tuple[str, str, str, str]], period_seconds: int
) -> list[dict[str, Any]]:
    """GetMetricData MetricDataQueries for (id, namespace, metric, statistic) tuples."""
    return [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": endpoint_dimensions(endpoint)},
                "Period": period_seconds,
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for query_id, namespace, name, stat in queries
    ]


def fetch_metric_data(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, Series]:
    """Run GetMetricData over every page; returns query id → series (empty when no data)."""
    points: dict[str, list[tuple[datetime, float]]] = {q["Id"]: [] for q in queries}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=True)
            points[result["Id"]].extend((t.astimezone(UTC), v) for t, v in pairs if v is not None)
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return {query_id: Series.from_points(pairs) for query_id, pairs in points.items()}


@dataclass(frozen=True)
class PercentileData:
    """ModelLatency percentiles in microseconds: over the whole window and per period, or why not."""

    overall: dict[str, float] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    error: str | None = None


def fetch_latency_percentiles(cloudwatch: Any, endpoint: str, window: TimeRange) -> PercentileData:
    """Ask CloudWatch for ModelLatency p50/p90/p99; any refusal is kept as the reason, not raised."""
    whole = metric_queries(
        endpoint, [(p, m.SAGEMAKER_NAMESPACE, m.MODEL_LATENCY, p) for p in PERCENTILES], window.seconds
    )
    periodic = metric_queries(
        endpoint,
        [(f"{p}_series", m.SAGEMAKER_NAMESPACE, m.MODEL_LATENCY, p) for p in PERCENTILES],
        window.period_seconds,
    )
    try:
        found = fetch_metric_data(cloudwatch, whole + periodic, window.start, window.end)
    except (ClientError, BotoCoreError) as exc:
        return PercentileData(error=f"CloudWatch refused percentile statistics ({short_error(exc)})")
    overall = {}
    for p in PERCENTILES:
        # The window may straddle two aligned periods; the higher value is the honest upper bound.
        peak = found[p].peak()
        if peak is not None:
            overall[p] = peak
    series = {p: found[f"{p}_series"] for p in PERCENTILES if len(found[f"{p}_series"])}
    return PercentileData(overall=overall, series=series)


@dataclass(frozen=True)
class LatencySummary:
    """A latency metric over the window, in milliseconds; percentiles are None when unavailable."""

    average_ms: float | None
    maximum_ms: float | None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    samples: int = 0


@dataclass(frozen=True)
class EndpointMetrics:
    """The endpoint's CloudWatch metrics over the window, in the units people read (ms, %)."""

    period_seconds: int
    invocations: int
    client_errors: int
    server_errors: int
    client_error_rate: float | None  # fraction of requests, None when no request was counted
    server_error_rate: float | None
    latency: LatencySummary
    overhead: LatencySummary
    cold_starts: int
    cold_start_max_ms: float | None
    cold_start_avg_ms: float | None
    memory_avg_percent: float | None
    memory_max_percent: float | None
    percentiles_available: bool
    series: dict[str, Series]
    notes: list[str]

    @property
    def has_traffic(self) -> bool:
        """Whether the endpoint answered anything in the window."""
        return self.invocations > 0 or self.latency.samples > 0


def summarize_metrics(
    series: Mapping[str, Series], percentiles: PercentileData, period_seconds: int
) -> EndpointMetrics:
    """Turn raw per-period statistics into the report's numbers (pure: no AWS).

    Window totals come from the per-period Sum and SampleCount, so the averages are weighted by
    requests; microseconds become milliseconds; error rates are Σ errors / Σ samples.
    """
    us_to_ms = 1.0 / m.MICROSECONDS_PER_MS

    def get(name: str) -> Series:
        return series.get(name, Series())

    def weighted_ms(sum_id: str, count_id: str) -> tuple[float | None, int]:
        count = get(count_id).total()
        return ((get(sum_id).total() / count) * us_to_ms if count else None), round(count)

    def rate(sum_id: str, count_id: str) -> float | None:
        count = get(count_id).total()
        return get(sum_id).total() / count if count else None

    def peak_ms(name: str) -> float | None:
        peak = get(name).peak()
        return None if peak is None else peak * us_to_ms

    notes: list[str] = []
    latency_avg, latency_n = weighted_ms("latency_sum", "latency_n")
    overall = {p: v * us_to_ms for p, v in percentiles.overall.items()}
    available = bool(overall)
    if latency_n and not available:
        reason = percentiles.error or "CloudWatch returned no percentile datapoints for ModelLatency"
        notes.append(
            f"ModelLatency percentiles are unavailable: {reason}. Showing average and maximum instead "
            "(AWS documents percentiles only for ModelSetupTime)."
        )
    latency = LatencySummary(
        average_ms=latency_avg,
        maximum_ms=peak_ms("latency_max"),
        p50_ms=overall.get("p50"),
        p90_ms=overall.get("p90"),
        p99_ms=overall.get("p99"),
        samples=latency_n,
    )
    overhead_avg, overhead_n = weighted_ms("overhead_sum", "overhead_n")
    overhead = LatencySummary(average_ms=overhead_avg, maximum_ms=peak_ms("overhead_max"), samples=overhead_n)
    cold_avg, cold_n = weighted_ms("setup_sum", "setup_n")

    plotted = {
        "invocations": get("invocations"),
        "latency_avg_ms": ratio_series(get("latency_sum"), get("latency_n"), us_to_ms),
        "latency_max_ms": get("latency_max").scaled(us_to_ms),
        "client_error_percent": ratio_series(get("e4_sum"), get("e4_n"), 100.0),
        "server_error_percent": ratio_series(get("e5_sum"), get("e5_n"), 100.0),
        "cold_starts": get("setup_n"),
        "cold_start_max_ms": get("setup_max").scaled(us_to_ms),
        "memory_avg_percent": get("memory_avg"),
        "memory_max_percent": get("memory_max"),
    }
    for p, values in percentiles.series.items():
        plotted[f"latency_{p}_ms"] = values.scaled(us_to_ms)
    memory_avg = get("memory_avg")
    return EndpointMetrics(
        period_seconds=period_seconds,
        invocations=round(get("invocations").total()),
        client_errors=round(get("e4_sum").total()),
        server_errors=round(get("e5_sum").total()),
        client_error_rate=rate("e4_sum", "e4_n"),
        server_error_rate=rate("e5_sum", "e5_n"),
        latency=latency,
        overhead=overhead,
        cold_starts=cold_n,
        cold_start_max_ms=peak_ms("setup_max"),
        cold_start_avg_ms=cold_avg,
        memory_avg_percent=(memory_avg.total() / len(memory_avg)) if len(memory_avg) else None,
        memory_max_percent=get("memory_max").peak(),
        percentiles_available=available,
        series={name: values for name, values in plotted.items() if len(values)},
        notes=notes,
    )


def endpoint_metrics(cloudwatch: Any, endpoint: str, window: TimeRange) -> EndpointMetrics:
    """Read the endpoint's metrics for the window and summarize them."""
    queries = metric_queries(endpoint, SERIES_QUERIES, window.period_seconds)
    series = fetch_metric_data(cloudwatch, queries, window.start, window.end)
    latency_seen = bool(len(series["latency_n"]))
    # No latency datapoints: nothing to take percentiles of, and one call fewer.
    percentiles = fetch_latency_percentiles(cloudwatch, endpoint, window) if latency_seen else PercentileData()
    return summarize_metrics(series, percentiles, window.period_seconds)
