"""The alarm rules on the endpoint and on drift: one definition for CloudWatch and the local mode.

The observability stack turns each rule into a CloudWatch alarm; the demo evaluates the same
rules on what it measured locally, so a threshold or a unit lives in exactly one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_core.settings import LATENCY_EVALUATION_PERIODS, Settings
from monitoring import metrics as m

ENDPOINT_DIMENSIONS = "endpoint"  # EndpointName + VariantName
DRIFT_DIMENSIONS = "drift"  # EndpointName


@dataclass(frozen=True)
class AlarmRule:
    """A metric, a statistic over one period, and the threshold that breaches."""

    id: str
    description: str
    namespace: str
    metric_name: str
    statistic: str  # Average | Maximum | Sum
    threshold: float
    inclusive: bool  # True: breach at >= threshold; False: breach at > threshold
    dimensions: str
    period_minutes: int
    evaluation_periods: int = 1
    # Tell a person when the alarm is OK again: where someone waits for the endpoint to recover.
    notify_recovery: bool = False
    # Watched during a rollout's bake: one that fires reverts the endpoint to the previous version.
    guards_rollout: bool = False

    def statistic_of(self, values: Sequence[float]) -> float | None:
        """The rule's statistic over one period's data points; None when there were none."""
        if not values:
            return None
        if self.statistic == "Average":
            return math.fsum(values) / len(values)
        if self.statistic == "Maximum":
            return max(values)
        if self.statistic == "Sum":
            return math.fsum(values)
        raise ValueError(f"alarm rule {self.id} has an unknown statistic {self.statistic!r}")

    def breached_by(self, values: Sequence[float]) -> bool:
        """Whether a period with these data points breaches; no data is not a breach (idle endpoint)."""
        value = self.statistic_of(values)
        if value is None:
            return False
        return value >= self.threshold if self.inclusive else value > self.threshold


def alarm_rules(settings: Settings) -> list[AlarmRule]:
    """Latency, error rates, cold starts and drift, in the units CloudWatch publishes them."""
    period = settings.alarm_period_minutes
    percent = settings.error_rate_threshold_percent
    return [
        AlarmRule(
            "LatencyAlarm",
            f"Average ModelLatency above {settings.latency_threshold_ms} ms (metric in microseconds)",
            m.SAGEMAKER_NAMESPACE,
            m.MODEL_LATENCY,
            "Average",
            settings.latency_threshold_us,
            False,
            ENDPOINT_DIMENSIONS,
            period,
            evaluation_periods=LATENCY_EVALUATION_PERIODS,
            notify_recovery=True,
            guards_rollout=True,
        ),
        AlarmRule(
            "ServerErrorRateAlarm",
            f"5XX error rate above {percent}% (Average of the 1/0 per-request metric)",
            m.SAGEMAKER_NAMESPACE,
            m.INVOCATION_5XX,
            "Average",
            settings.error_rate_threshold,
            False,
            ENDPOINT_DIMENSIONS,
            period,
            notify_recovery=True,
            guards_rollout=True,
        ),
        AlarmRule(
            "ClientErrorRateAlarm",
            f"4XX error rate above {percent}%: clients send requests the model cannot read",
            m.SAGEMAKER_NAMESPACE,
            m.INVOCATION_4XX,
            "Average",
            settings.error_rate_threshold,
            False,
            ENDPOINT_DIMENSIONS,
            period,
            notify_recovery=True,
            guards_rollout=True,
        ),
        AlarmRule(
            "ColdStartAlarm",
            f"A cold start (ModelSetupTime) took longer than {settings.cold_start_threshold_ms} ms",
            m.SAGEMAKER_NAMESPACE,
            m.MODEL_SETUP_TIME,
            "Maximum",
            settings.cold_start_threshold_us,
            False,
            ENDPOINT_DIMENSIONS,
            period,
            guards_rollout=True,
        ),
        AlarmRule(
            "DriftAlarm",
            f"A feature or the prediction score drifted: PSI >= {settings.drift_psi_alert}",
            m.DRIFT_NAMESPACE,
            m.MAX_PSI,
            "Maximum",
            settings.drift_psi_alert,
            True,
            DRIFT_DIMENSIONS,
            # One drift run per period: a shorter period would turn the alarm OK between runs.
            max(60, settings.drift_interval_minutes),
        ),
    ]


def alarm_name(settings: Settings, rule: AlarmRule) -> str:
    """The CloudWatch alarm's name: fixed, so the deployment pipeline and the drift trigger find it."""
    return settings.name(rule.id)


def guard_alarm_names(settings: Settings) -> list[str]:
    """The alarms a rollout's bake watches: latency, error rates and cold starts."""
    return [alarm_name(settings, rule) for rule in alarm_rules(settings) if rule.guards_rollout]


def drift_alarm_name(settings: Settings) -> str:
    """The drift alarm, whose ALARM state can start a training run (`retrain_on_drift`)."""
    (rule,) = [rule for rule in alarm_rules(settings) if rule.namespace == m.DRIFT_NAMESPACE]
    return alarm_name(settings, rule)
