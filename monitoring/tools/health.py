"""Health of the deployed system, gathered from AWS: what `mlops monitor` reports.

- Endpoint metrics from CloudWatch (GetMetricData): invocations, ModelLatency (converted from
  microseconds to ms), 4XX/5XX error rates (the metrics are 1/0 per request, so Sum/SampleCount
  is the share of failed requests), cold starts (ModelSetupTime count and maximum), memory.
  Percentiles of ModelLatency are asked for in a separate call: AWS documents percentiles only
  for ModelSetupTime (FACTS §2), so when they fail or come back empty the report falls back to
  average and maximum and says so in a note.
- Alarm states: every alarm whose name starts with `<project>-observability-`. The observability
  stack leaves alarm names to CloudFormation, which names them `<stack name>-<logical id>-<suffix>`,
  and the stack is named `<project>-observability` (mlops_stacks/app_builder.py). A prefix that
  includes the stack name cannot match another project's alarms (project names are at most 20
  characters, so no project is called `<project>-observability`).
- The latest drift report, `s3://<project>-data-<account>-<region>/reports/drift/<endpoint>/latest.json`.
- The endpoint's status and the model package it serves, and the registry's newest approved version
  with its evaluation metrics (`evaluation.json`, the package's ModelQuality statistics).

Each part that cannot be read (missing permission, nothing deployed) becomes an error line in the
report instead of stopping the others. Rendering lives in `monitoring.tools.health_report`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlops_core.aws import is_not_found, split_s3_uri
from mlops_core.model_registry import VERSIONED, served_model_package
from mlops_core.naming import bucket_name
from mlops_core.quality_gate import APPROVED
from mlops_core.settings import Settings
from monitoring import metrics as m
from monitoring.drift_report import latest_report_key

OBSERVABILITY_STACK_SUFFIX = "observability"
MAX_SERIES_POINTS = 120  # points per plotted series: enough to see a pattern, few enough to read
MAX_HOURS = 24 * 63  # CloudWatch keeps 5-minute data for 63 days
ONE_MINUTE_DATA_DAYS = 15  # CloudWatch keeps 1-minute data for 15 days
PERCENTILES = ("p50", "p90", "p99")
IN_SERVICE = "InService"
NOT_FOUND = "NotFound"
ALARM = "ALARM"


class HealthError(RuntimeError):
    """The health report cannot be gathered at all (no credentials, no region, bad arguments)."""


# --- what to look at ---------------------------------------------------------------------------


def alarm_name_prefix(project: str) -> str:
    """Prefix of the names CloudFormation gives the observability stack's alarms."""
    return f"{project}-{OBSERVABILITY_STACK_SUFFIX}-"


def data_bucket_name(project: str, account: str, region: str) -> str:
    """The artifact bucket's name, as the storage stack names it (`mlops_core.naming.bucket_name`)."""
    return bucket_name(project, "data", account, region)


@dataclass(frozen=True)
class HealthTargets:
    """The deployed resources the report looks at, named as the stacks name them."""

    project: str
    endpoint: str
    model_package_group: str
    alarm_prefix: str
    bucket: str | None = None  # None: the artifact bucket of the caller's account and region

    @classmethod
    def from_settings(cls, settings: Settings, endpoint: str | None = None) -> HealthTargets:
        """The names the stacks derive from these settings; `endpoint` overrides the endpoint's."""
        return cls(
            project=settings.project_name,
            endpoint=endpoint or settings.endpoint_name,
            model_package_group=settings.model_package_group_name,
            alarm_prefix=alarm_name_prefix(settings.project_name),
        )


@dataclass(frozen=True)
class HealthThresholds:
    """The alarm thresholds, for colouring numbers and drawing lines on the plots."""

    latency_ms: float
    error_rate_percent: float
    cold_start_ms: float
    psi_warn: float
    psi_alert: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthThresholds:
        """Take the thresholds the observability stack's alarms use."""
        return cls(
            latency_ms=settings.latency_threshold_ms,
            error_rate_percent=settings.error_rate_threshold_percent,
            cold_start_ms=settings.cold_start_threshold_ms,
            psi_warn=settings.drift_psi_warn,
            psi_alert=settings.drift_psi_alert,
        )


@dataclass(frozen=True)
class HealthClients:
    """The boto3 clients the report reads with (one session, one region)."""

    cloudwatch: Any
    s3: Any
    sagemaker: Any
    sts: Any
    region: str

    @classmethod
    def from_session(cls, session: Any, endpoint_url: str | None = None, config: Any = None) -> HealthClients:
        """Clients of a boto3 session; `endpoint_url` points them all at one emulator (moto server)."""
        region = session.region_name
        if not region:
            raise HealthError("no AWS region: pass --region or set AWS_REGION")

        def client(name: str) -> Any:
            return session.client(name, region_name=region, endpoint_url=endpoint_url, config=config)

        return cls(client("cloudwatch"), client("s3"), client("sagemaker"), client("sts"), region)


# --- CloudWatch metrics --------------------------------------------------------------------------


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
    """The dimensions SageMaker publishes endpoint metrics under (FACTS §2)."""
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
        return PercentileData(error=f"CloudWatch refused percentile statistics ({_short_error(exc)})")
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


# --- alarms ----------------------------------------------------------------------------------------

# CloudFormation's generated names end in `<logical id hash (8 hex)>-<random suffix>`.
_GENERATED_SUFFIX = re.compile(r"(?P<base>.+?)[0-9A-F]{8}-[A-Za-z0-9]+")


@dataclass(frozen=True)
class AlarmState:
    """One alarm of the project and its current state."""

    name: str
    state: str
    reason: str
    updated: datetime | None
    description: str | None
    metric: str | None
    threshold: float | None
    prefix: str = ""

    @property
    def short_name(self) -> str:
        """The construct's name (e.g. `LatencyAlarm`) without the stack prefix and generated suffix."""
        rest = self.name.removeprefix(self.prefix)
        match = _GENERATED_SUFFIX.fullmatch(rest)
        return match.group("base") if match else rest


def alarm_states(cloudwatch: Any, prefix: str) -> list[AlarmState]:
    """Metric and composite alarms whose names start with `prefix`, sorted by name."""
    found: list[AlarmState] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            found.append(
                AlarmState(
                    name=alarm["AlarmName"],
                    state=alarm.get("StateValue", "INSUFFICIENT_DATA"),
                    reason=alarm.get("StateReason", ""),
                    updated=alarm.get("StateUpdatedTimestamp"),
                    description=alarm.get("AlarmDescription"),
                    metric=alarm.get("MetricName"),
                    threshold=alarm.get("Threshold"),
                    prefix=prefix,
                )
            )
    return sorted(found, key=lambda alarm: alarm.name)


# --- drift report, endpoint, registry -----------------------------------------------------------------


@dataclass(frozen=True)
class DriftSummary:
    """The latest drift report (docs/contracts.md) or why there is none."""

    uri: str
    report: dict[str, Any] | None
    written: datetime | None = None
    error: str | None = None


def latest_drift_report(s3: Any, bucket: str, endpoint: str) -> DriftSummary:
    """Read `reports/drift/<endpoint>/latest.json`; a missing report is a note, not an error."""
    key = latest_report_key(endpoint)
    uri = f"s3://{bucket}/{key}"
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return DriftSummary(uri, None, error="no drift report yet (the drift job has not written one)")
        return DriftSummary(uri, None, error=f"cannot read the drift report ({_short_error(exc)})")
    try:
        report = json.loads(answer["Body"].read())
    except ValueError as exc:
        return DriftSummary(uri, None, error=f"the drift report is not valid JSON ({exc})")
    if not isinstance(report, dict) or "status" not in report:
        return DriftSummary(uri, None, error="the drift report is not a drift report object (no `status`)")
    return DriftSummary(uri, report, written=answer.get("LastModified"))


@dataclass(frozen=True)
class EndpointStatus:
    """The endpoint's state and the model package version it serves."""

    name: str
    status: str
    failure_reason: str | None = None
    last_modified: datetime | None = None
    served_package_arn: str | None = None


def endpoint_status(sagemaker: Any, endpoint: str) -> EndpointStatus:
    """DescribeEndpoint, then endpoint config → model → model package: what is being served."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if is_not_found(exc):
            return EndpointStatus(endpoint, NOT_FOUND)
        raise
    served = None
    try:
        served = served_model_package(sagemaker, described["EndpointConfigName"])
    except ClientError as exc:
        if not is_not_found(exc):
            raise
    return EndpointStatus(
        name=endpoint,
        status=described.get("EndpointStatus", "Unknown"),
        failure_reason=described.get("FailureReason"),
        last_modified=described.get("LastModifiedTime"),
        served_package_arn=served,
    )


@dataclass(frozen=True)
class RegistryVersion:
    """The newest approved model package version and its evaluation metrics."""

    group: str
    arn: str
    version: int | None
    approval: str
    created: datetime | None
    training_job: str | None
    metrics: dict[str, float]
    metrics_uri: str | None
    note: str | None = None


def newest_approved_version(sagemaker: Any, s3: Any, group: str) -> RegistryVersion | None:
    """The group's newest approved version, with `validation` metrics from its evaluation.json."""
    try:
        listed = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus=APPROVED,
            ModelPackageType=VERSIONED,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        ).get("ModelPackageSummaryList", [])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    if not listed:
        return None
    package = sagemaker.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])
    metadata = package.get("CustomerMetadataProperties") or {}
    uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    metrics, note = _evaluation_metrics(s3, uri)
    if not metrics and _is_number(metadata.get("validation_auc")):
        metrics = {"auc": float(metadata["validation_auc"])}
    return RegistryVersion(
        group=group,
        arn=package["ModelPackageArn"],
        version=package.get("ModelPackageVersion"),
        approval=package.get("ModelApprovalStatus", APPROVED),
        created=package.get("CreationTime"),
        training_job=metadata.get("training_job"),
        metrics=metrics,
        metrics_uri=uri,
        note=note,
    )


def _evaluation_metrics(s3: Any, uri: str | None) -> tuple[dict[str, float], str | None]:
    """`validation` numbers of evaluation.json at `uri` (docs/contracts.md), or why they are missing."""
    if not uri:
        return {}, "the version has no ModelQuality statistics"
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as exc:
        return {}, f"ModelQuality statistics URI: {exc}"
    try:
        evaluation = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        return {}, f"cannot read {uri} ({_short_error(exc)})"
    except ValueError as exc:
        return {}, f"{uri} is not valid JSON ({exc})"
    validation = evaluation.get("validation") if isinstance(evaluation, dict) else None
    if not isinstance(validation, dict):
        return {}, f"{uri} has no `validation` object"
    return {k: float(v) for k, v in validation.items() if _is_number(v)}, None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# --- the whole report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthReport:
    """Everything `mlops monitor` shows; `problems` decides the exit code."""

    targets: HealthTargets
    region: str
    window: TimeRange
    thresholds: HealthThresholds
    endpoint: EndpointStatus | None
    metrics: EndpointMetrics | None
    alarms: list[AlarmState]
    drift: DriftSummary | None
    registry: RegistryVersion | None
    errors: list[str]

    @property
    def alarms_firing(self) -> list[AlarmState]:
        """Alarms in state ALARM."""
        return [alarm for alarm in self.alarms if alarm.state == ALARM]

    @property
    def problems(self) -> list[str]:
        """What makes the system unhealthy: firing alarms, an endpoint not in service, unreadable parts."""
        found = [f"alarm {a.short_name} is in ALARM: {a.reason}" for a in self.alarms_firing]
        if self.endpoint is not None and self.endpoint.status != IN_SERVICE:
            reason = f" ({self.endpoint.failure_reason})" if self.endpoint.failure_reason else ""
            found.append(f"endpoint {self.endpoint.name} is {self.endpoint.status}{reason}")
        return found + self.errors

    @property
    def healthy(self) -> bool:
        """No problems."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (times in ISO 8601, series as [time, value] pairs)."""
        data = _jsonable(
            {
                "project": self.targets.project,
                "endpoint_name": self.targets.endpoint,
                "region": self.region,
                "window": {
                    "start": self.window.start,
                    "end": self.window.end,
                    "period_seconds": self.window.period_seconds,
                },
                "thresholds": asdict(self.thresholds),
                "endpoint": asdict(self.endpoint) if self.endpoint else None,
                "metrics": _metrics_dict(self.metrics) if self.metrics else None,
                "alarms": [{**asdict(a), "short_name": a.short_name} for a in self.alarms],
                "drift": asdict(self.drift) if self.drift else None,
                "registry": asdict(self.registry) if self.registry else None,
                "errors": self.errors,
                "problems": self.problems,
                "healthy": self.healthy,
            }
        )
        assert isinstance(data, dict)
        return data


def _metrics_dict(metrics: EndpointMetrics) -> dict[str, Any]:
    data = asdict(metrics)
    data["series"] = {
        name: [[t, v] for t, v in zip(s.timestamps, s.values, strict=True)] for name, s in metrics.series.items()
    }
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def gather_health(
    clients: HealthClients,
    targets: HealthTargets,
    thresholds: HealthThresholds,
    hours: float,
    now: datetime | None = None,
) -> HealthReport:
    """Read every part of the report; a part that fails is recorded in `errors`, the others still run."""
    window = TimeRange.last_hours(hours, now)
    try:
        account = clients.sts.get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as exc:
        raise HealthError(f"cannot identify the AWS account: {_short_error(exc)}") from None
    bucket = targets.bucket or data_bucket_name(targets.project, account, clients.region)
    errors: list[str] = []

    def attempt(what: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except (ClientError, BotoCoreError) as exc:
            errors.append(f"cannot read {what}: {_short_error(exc)}")
            return None

    return HealthReport(
        targets=targets,
        region=clients.region,
        window=window,
        thresholds=thresholds,
        endpoint=attempt("the endpoint", endpoint_status, clients.sagemaker, targets.endpoint),
        metrics=attempt("CloudWatch metrics", endpoint_metrics, clients.cloudwatch, targets.endpoint, window),
        alarms=attempt("alarms", alarm_states, clients.cloudwatch, targets.alarm_prefix) or [],
        drift=attempt("the drift report", latest_drift_report, clients.s3, bucket, targets.endpoint),
        registry=attempt(
            "the model registry", newest_approved_version, clients.sagemaker, clients.s3, targets.model_package_group
        ),
        errors=errors,
    )


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(error.get("Message") or "").strip().splitlines()
        # Some failures (an emulator's 500 page, a proxy) carry HTML, not a message.
        text = message[0][:200] if message and not message[0].startswith("<") else ""
        return f"{code}: {text}" if text else str(code)
    return str(exc)
