"""The synthesized state machines' definitions (Amazon States Language), as Step Functions receives them.

`AWS::StepFunctions::StateMachine.DefinitionString` is a `Fn::Join` of JSON text and intrinsic
functions (function ARNs, the topic ARN, the image URI, pseudo parameters). They are resolved the
way `tests/iam_policies.py` resolves policies, for a concrete account and Region, so that each
intrinsic becomes a value of the right shape (an ARN where an ARN goes) and the text parses as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .iam_policies import Resolver

ACCOUNT, REGION = "123456789012", "us-east-1"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"


def definitions(
    templates: dict[str, dict[str, Any]], account: str = ACCOUNT, region: str = REGION
) -> dict[str, dict[str, Any]]:
    """Each state machine's definition by its name (`<project>-training`, `<project>-deployment`)."""
    resolver = Resolver(templates, account, region)
    found = {}
    for stack, template in templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] == STATE_MACHINE:
                properties = resource["Properties"]
                name = resolver.resolve(stack, properties["StateMachineName"])
                found[name] = json.loads(resolver.resolve(stack, properties["DefinitionString"]))
    return found


def definition(templates: dict[str, dict[str, Any]], purpose: str) -> dict[str, Any]:
    """The definition of the state machine named `<project>-<purpose>`."""
    (found,) = [d for name, d in definitions(templates).items() if name.endswith(f"-{purpose}")]
    return found


def next_states(state: dict[str, Any]) -> set[str]:
    """Where a state can go by `Next` or, for a Choice, by its rules and `Default` (not by a Catch)."""
    targets = {state["Next"]} if "Next" in state else set()
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    if "Default" in state:
        targets.add(state["Default"])
    return targets


def catch_targets(state: dict[str, Any]) -> set[str]:
    """Where a state's errors go."""
    return {catcher["Next"] for catcher in state.get("Catch", [])}


def tasks(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, by name."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield name, state
