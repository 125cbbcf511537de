"""What the health report looks at, named as the stacks name them, and the clients it reads with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.naming import bucket_name
from mlops_core.settings import Settings

OBSERVABILITY_STACK_SUFFIX = "observability"


class HealthError(RuntimeError):
    """The health report cannot be gathered at all (no credentials, no region, bad arguments)."""


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


def short_error(exc: Exception) -> str:
    """An AWS error in one line: its code and the first line of its message (no HTML pages)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(error.get("Message") or "").strip().splitlines()
        # Some failures (an emulator's 500 page, a proxy) carry HTML, not a message.
        text = message[0][:200] if message and not message[0].startswith("<") else ""
        return f"{code}: {text}" if text else str(code)
    return str(exc)
