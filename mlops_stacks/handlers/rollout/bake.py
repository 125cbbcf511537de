"""Whether a rolled-out version passed its bake: no guard alarm fired since it started, still approved.

An alarm already in ALARM before the rollout started does not fail it (it says nothing about the
new version); one that went to ALARM since does. A serverless endpoint without traffic publishes
no data points, so its alarms cannot fire: a bake proves something only under traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mlops_core.quality_gate import APPROVED

ALARM = "ALARM"


@dataclass(frozen=True)
class BakeVerdict:
    """Passed or not, why (the rejection's description when not), and which guard alarms fired or are missing."""

    passed: bool
    reason: str
    fired: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def as_output(self) -> dict[str, Any]:
        """JSON for the state machine (`$.outcome`)."""
        return {**asdict(self), "fired": list(self.fired), "missing": list(self.missing)}


def _changed_at(alarm: dict[str, Any]) -> datetime:
    # StateTransitionedTimestamp: when the state last changed (botocore MetricAlarm); moto returns only
    # StateUpdatedTimestamp, which is also set when only the evaluation state changes.
    return alarm.get("StateTransitionedTimestamp") or alarm["StateUpdatedTimestamp"]


def bake_verdict(
    cloudwatch: Any, sagemaker: Any, *, alarm_names: Sequence[str], since: datetime, version_arn: str
) -> BakeVerdict:
    """Judge the bake of `version_arn`, rolled out at `since`, by its guard alarms and its approval status."""
    alarms = [
        alarm
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=list(alarm_names), AlarmTypes=["MetricAlarm"]
        )
        for alarm in page.get("MetricAlarms", [])
    ]
    found = {alarm["AlarmName"] for alarm in alarms}
    missing = tuple(name for name in alarm_names if name not in found)
    fired = tuple(
        sorted(alarm["AlarmName"] for alarm in alarms if alarm["StateValue"] == ALARM and _changed_at(alarm) >= since)
    )
    package = sagemaker.describe_model_package(ModelPackageName=version_arn)
    version, status = package.get("ModelPackageVersion"), package.get("ModelApprovalStatus")
    if status != APPROVED:
        why = package.get("ApprovalDescription") or "no description"
        return BakeVerdict(
            False, f"rolled back: version {version} was set to {status} during the bake ({why})", fired, missing
        )
    if fired:
        first = next(alarm for alarm in alarms if alarm["AlarmName"] == fired[0])
        return BakeVerdict(
            False,
            f"rolled back: {', '.join(fired)} went to ALARM during the bake of version {version} "
            f"({first.get('StateReason', 'no reason given')})",
            fired,
            missing,
        )
    checked = ", ".join(sorted(found)) or "none exist yet"
    return BakeVerdict(True, f"version {version} passed its bake; guard alarms checked: {checked}", (), missing)
