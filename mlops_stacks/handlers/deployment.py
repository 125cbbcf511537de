"""Deployment Lambda (deployment pipeline): the three steps that need more than one AWS call.

`event["step"]` picks one; `event["state"]` is the execution's state, whose `plan` the first step
writes. A shell over `rollout`; the endpoint's settings come from the environment
(`ServingSpec.from_env`, MODEL_PACKAGE_GROUP, GUARD_ALARMS):

- `prepare` → `$.plan`: what to do now (create, update, none, busy). It also makes the target's
  model and endpoint config, deletes a Failed endpoint (the plan then waits), and waits while an
  older run of the pipeline is still going, so that two runs never roll out at once.
- `check_bake` → `$.outcome`: the bake's verdict (`passed`, `reason`).
- `confirm` → `$.outcome`: a deploy's run fails when the version its training run registered
  was rejected (by a person, or by a bake); else old configs and models are tidied away.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import boto3

from mlops_core.quality_gate import APPROVED
from mlops_stacks.handlers.rollout import (
    BUSY,
    CREATE,
    NONE,
    UPDATE,
    ServingSpec,
    bake_verdict,
    create_model_and_config,
    plan_rollout,
    tidy,
)
from mlops_stacks.handlers.rollout.approval import version_of_run
from mlops_stacks.handlers.rollout.plan import REPLACE, RolloutPlan
from mlops_stacks.handlers.state_errors import error_text
from mlops_stacks.handlers.training_run.clients import RETRIES

logging.getLogger("mlops_stacks").setLevel(logging.INFO)
logger = logging.getLogger(__name__)


class DeploymentError(RuntimeError):
    """The rollout cannot go on; the message says why."""


def older_runs(sfn: Any, execution_arn: str, started: datetime) -> list[str]:
    """Names of this pipeline's running executions that started before this one (they go first).

    Two runs that started in the same millisecond go in the order of their names.
    """
    machine, own_name = execution_arn.replace(":execution:", ":stateMachine:", 1).rsplit(":", 1)
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="RUNNING")
    return sorted(
        item["name"]
        for page in pages
        for item in page["executions"]
        if item["executionArn"] != execution_arn and (item["startDate"], item["name"]) < (started, own_name)
    )


def prepare(state: Mapping[str, Any], execution: Mapping[str, Any], clients: Mapping[str, Any]) -> dict[str, Any]:
    """Plan the rollout; make what an update or a create needs, or delete a Failed endpoint."""
    sagemaker, env = clients["sagemaker"], os.environ
    spec = ServingSpec.from_env(env)
    ahead = older_runs(clients["stepfunctions"], execution["id"], datetime.fromisoformat(execution["started"]))
    plan = plan_rollout(sagemaker, env["MODEL_PACKAGE_GROUP"], spec)
    if ahead:
        return {**plan.as_output(), "action": BUSY, "reason": f"waiting for the runs before this one: {ahead}"}
    if plan.action == REPLACE:
        sagemaker.delete_endpoint(EndpointName=spec.endpoint)
        return {**plan.as_output(), "action": BUSY}
    if plan.action in (CREATE, UPDATE):
        failed = state.get("failed_request")
        if failed:
            raise DeploymentError(f"{plan.action} of endpoint {spec.endpoint} was refused: {error_text(failed)}")
        create_model_and_config(sagemaker, spec, plan.target_arn, plan.target_version)
    logger.info("%s: %s", plan.action, plan.reason)
    return plan.as_output()


def check_bake(state: Mapping[str, Any], clients: Mapping[str, Any]) -> dict[str, Any]:
    """The bake's verdict on the version the plan rolled out."""
    plan = RolloutPlan(**state["plan"])
    verdict = bake_verdict(
        clients["cloudwatch"],
        clients["sagemaker"],
        alarm_names=json.loads(os.environ["GUARD_ALARMS"]),
        since=datetime.fromisoformat(plan.started_at),
        version_arn=plan.target_arn,
    )
    logger.info("bake %s: %s", "passed" if verdict.passed else "failed", verdict.reason)
    return verdict.as_output()


def confirm(state: Mapping[str, Any], clients: Mapping[str, Any]) -> dict[str, Any]:
    """Fail a deploy whose own version was rejected; else tidy and say what serves."""
    sagemaker, plan = clients["sagemaker"], RolloutPlan(**state["plan"])
    training_run = state.get("training_run")
    if training_run:
        package = version_of_run(sagemaker, os.environ["MODEL_PACKAGE_GROUP"], str(training_run))
        if package is not None and package.get("ModelApprovalStatus") != APPROVED:
            why = package.get("ApprovalDescription") or "no description"
            reason = (
                f"version {package['ModelPackageVersion']}, which this deploy's training run {training_run} "
                f"registered, is {package.get('ModelApprovalStatus')} ({why}); the endpoint serves version "
                f"{plan.target_version}"
            )
            return {"passed": False, "reason": reason}
    spec = ServingSpec.from_env(os.environ)
    tidy(sagemaker, spec, keep={plan.new_config, plan.previous_config} - {""})
    verb = "serves" if plan.action == NONE else "now serves"
    return {"passed": True, "reason": f"endpoint {spec.endpoint} {verb} version {plan.target_version}"}


STEPS = ("prepare", "check_bake", "confirm")


@functools.cache
def process_clients() -> dict[str, Any]:
    """The clients of this Lambda process, made once (0.1-0.3 s each) and kept across invocations."""
    return {name: boto3.client(name, config=RETRIES) for name in ("sagemaker", "cloudwatch", "stepfunctions")}


def handler(event: Mapping[str, Any], context: object = None, clients: Mapping[str, Any] | None = None) -> Any:
    """Run `event["step"]` on `event["state"]`."""
    step, state = event["step"], event["state"]
    if step not in STEPS:
        raise DeploymentError(f"unknown step {step!r}: {', '.join(STEPS[:-1])} or {STEPS[-1]}")
    clients = process_clients() if clients is None else clients
    if step == "prepare":
        return prepare(state, event["execution"], clients)
    if step == "check_bake":
        return check_bake(state, clients)
    return confirm(state, clients)
