"""The whole health report: every part gathered, a part that fails kept as an error line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from monitoring.tools.health.alarms import ALARM, AlarmState, alarm_states
from monitoring.tools.health.deployment import (
    IN_SERVICE,
    DriftSummary,
    EndpointStatus,
    RegistryVersion,
    endpoint_status,
    latest_drift_report,
    newest_approved_version,
)
from monitoring.tools.health.endpoint_metrics import EndpointMetrics, TimeRange, endpoint_metrics
from monitoring.tools.health.targets import (
    HealthClients,
    HealthError,
    HealthTargets,
    HealthThresholds,
    data_bucket_name,
    short_error,
)


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
        raise HealthError(f"cannot identify the AWS account: {short_error(exc)}") from None
    bucket = targets.bucket or data_bucket_name(targets.project, account, clients.region)
    errors: list[str] = []

    def attempt(what: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except (ClientError, BotoCoreError) as exc:
            errors.append(f"cannot read {what}: {short_error(exc)}")
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
