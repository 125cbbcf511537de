"""What a rollout must do now, decided from the registry and the endpoint as they are.

The target is always the group's newest approved version, never the version an event names:
events can arrive twice or out of order, and a version rejected since (by a person, or by a failed
bake) must lose its traffic to the approved one before it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from mlops_stacks.handlers.rollout.approval import newest_approved_version
from mlops_stacks.handlers.rollout.serving import ServingSpec, describe_endpoint

CREATE = "create"
UPDATE = "update"
NONE = "none"
BUSY = "busy"
# A failed endpoint accepts no update: the deployer deletes it (and the next plan creates it anew).
REPLACE = "replace"
NOT_FOUND = "NotFound"
IN_SERVICE = "InService"
FAILED = "Failed"


class NoApprovedVersion(LookupError):
    """The group has no approved version, so there is nothing the endpoint may serve."""


@dataclass(frozen=True)
class RolloutPlan:
    """The action, its target version and the configs involved, in the shape the pipeline reads (`$.plan`)."""

    action: str
    reason: str
    endpoint_status: str
    target_arn: str = ""
    target_version: int = 0
    new_config: str = ""
    previous_config: str = ""
    started_at: str = ""

    def as_output(self) -> dict[str, Any]:
        """JSON for the state machine."""
        return asdict(self)


def plan_rollout(sagemaker: Any, group: str, spec: ServingSpec, *, now: datetime | None = None) -> RolloutPlan:
    """Create the endpoint, update it to the newest approved version, do nothing, or wait (busy / replace)."""
    newest = newest_approved_version(sagemaker, group)
    if newest is None:
        raise NoApprovedVersion(
            f"model package group {group} has no Approved version: approve one with `mlops approve N`"
        )
    version, arn = int(newest["ModelPackageVersion"]), newest["ModelPackageArn"]
    target = {
        "target_arn": arn,
        "target_version": version,
        "new_config": spec.resource_name(version),
        "started_at": (now or datetime.now(UTC)).isoformat(),
    }
    endpoint = describe_endpoint(sagemaker, spec.endpoint)
    if endpoint is None:
        reason = f"no endpoint {spec.endpoint} yet: create it serving version {version}"
        return RolloutPlan(CREATE, reason, NOT_FOUND, **target)
    status, current = endpoint["EndpointStatus"], endpoint.get("EndpointConfigName", "")
    if status == FAILED:
        why = endpoint.get("FailureReason", "no reason given")
        reason = f"endpoint {spec.endpoint} is Failed ({why}): delete it, then create it"
        return RolloutPlan(REPLACE, reason, status, **target)
    if status != IN_SERVICE:
        return RolloutPlan(BUSY, f"endpoint {spec.endpoint} is {status}: wait", status, **target)
    if current == target["new_config"]:
        reason = f"endpoint {spec.endpoint} already serves version {version} with these settings"
        return RolloutPlan(NONE, reason, status, **target)
    reason = f"update endpoint {spec.endpoint} from {current} to version {version}"
    return RolloutPlan(UPDATE, reason, status, **target, previous_config=current)
