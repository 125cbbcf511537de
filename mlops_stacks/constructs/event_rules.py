"""EventBridge rules that start a pipeline: the patterns of `mlops_core.event_patterns` and the target input.

Every execution input names its trigger and a run id: the event's own id, unique per event, which
the registration records as the version's training run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """A plain event pattern (source, detail-type, detail) as CDK takes it."""
    return events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"])


def start_pipeline(
    state_machine: sfn.IStateMachine, trigger: str, extra: Mapping[str, Any] | None = None
) -> targets.SfnStateMachine:
    """A target that starts `state_machine` with `{"trigger", "run_id", **extra}` (CDK makes its role)."""
    run_input = {"trigger": trigger, "run_id": events.EventField.event_id, **(extra or {})}
    return targets.SfnStateMachine(state_machine, input=events.RuleTargetInput.from_object(run_input))
