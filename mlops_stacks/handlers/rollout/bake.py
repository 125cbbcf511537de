"""Whether a rolled-out version passed its bake: no guard alarm in ALARM since it started, still approved.

The check reads the alarms' state at the end of the bake: one in ALARM that went there since the
rollout started fails it; one already in ALARM before does not (it says nothing about the new
version). An alarm that fired and recovered within the bake is not seen. A serverless endpoint without traffic publishes
no data points, so its alarms cannot fire: a bake proves something only under traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mlops_core.quality_gate import APPROVED
from mlops_stacks.handlers.training_run.versions import description_text

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
        reason = f"rolled back: version {version} was set to {status} during the bake ({why})"
        return BakeVerdict(False, description_text(reason), fired, missing)
    if fired:
        first = next(alarm for alarm in alarms if alarm["AlarmName"] == fired[0])
        reason = (
            f"rolled back: {', '.join(fired)} went to ALARM during the bake of version {version} "
            f"({first.get('StateReason', 'no reason given')})"
        )
        # The reason becomes the version's ApprovalDescription, which takes at most 1024 characters.
        return BakeVerdict(False, description_text(reason), fired, missing)
    checked = ", ".join(sorted(found)) or "none exist yet"
    return BakeVerdict(True, f"version {version} passed its bake; guard alarms checked: {checked}", (), missing)
