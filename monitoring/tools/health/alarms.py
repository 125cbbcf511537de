"""The project's alarms and their states, found by the name prefix CloudFormation gives them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ALARM = "ALARM"

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
