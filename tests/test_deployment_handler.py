"""The deployment Lambda on moto, step by step as the deployment pipeline calls it: prepare, check_bake, confirm.

Each call gets the event the state machine builds (`{"step", "state": $, "execution": {...}}`), the
environment the stack sets, and clients on moto whose every request is checked as AWS checks it.
moto has no UpdateEndpoint: what an update leaves behind is set in moto's backend
(`rollout_fixtures.serve`), and the pipeline's UpdateEndpoint requests are checked by botocore's
Stubber against the API model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_core.sagemaker_inputs import project_tags, tag_list
from mlops_core.settings import Settings
from mlops_stacks.handlers.deployment import DeploymentError, handler
from mlops_stacks.handlers.rollout import BUSY, CREATE, NONE, UPDATE, ServingSpec, set_approval
from mlops_stacks.handlers.rollout.plan import RolloutPlan
from mlops_stacks.handlers.training_run.versions import TRAINING_RUN_KEY
from monitoring.alarm_rules import guard_alarm_names
from tests import rollout_fixtures
from tests.aws_fixtures import checked_boto3, moto_update_model_package_as_documented
from tests.rollout_fixtures import GROUP, REGION, ROLE, SETTINGS, SPEC, names, register, serve, set_endpoint_status

MACHINE = "mlops-showcase-deployment"


@dataclass
class Aws:
    sagemaker: Any
    cloudwatch: Any
    sfn: Any
    machine: str

    @property
    def clients(self) -> dict[str, Any]:
        return {"sagemaker": self.sagemaker, "cloudwatch": self.cloudwatch, "stepfunctions": self.sfn}


def lambda_environment(spec: ServingSpec) -> dict[str, str]:
    """What the stack gives the deployment Lambda."""
    return {**spec.as_env(), "MODEL_PACKAGE_GROUP": GROUP, "GUARD_ALARMS": json.dumps(guard_alarm_names(SETTINGS))}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key, value in lambda_environment(SPEC).items():
        monkeypatch.setenv(key, value)
    with mock_aws(), moto_update_model_package_as_documented(), checked_boto3():
        sagemaker, sfn = boto3.client("sagemaker"), boto3.client("stepfunctions")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        # moto only records executions (its executor is off): each stays RUNNING, as a run in progress.
        machine = sfn.create_state_machine(
            name=MACHINE,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/{MACHINE}",
        )["stateMachineArn"]
        yield Aws(sagemaker, boto3.client("cloudwatch"), sfn, machine)


def run(aws: Aws, name: str, *, alone: bool = True) -> dict[str, str]:
    """Start an execution of the pipeline; its context as the state machine passes it (`$$.Execution`).

    `alone`: the runs before it have ended (moto keeps every execution RUNNING until stopped).
    """
    if alone:
        for execution in aws.sfn.list_executions(stateMachineArn=aws.machine, statusFilter="RUNNING")["executions"]:
            aws.sfn.stop_execution(executionArn=execution["executionArn"])
    started = aws.sfn.start_execution(stateMachineArn=aws.machine, name=name, input="{}")
    # $$.Execution.StartTime is ISO 8601 in UTC, with milliseconds and a Z.
    when = started["startDate"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    time.sleep(0.01)  # the next run starts later
    return {"id": started["executionArn"], "started": when}


def prepare(aws: Aws, execution: dict[str, str], state: dict[str, Any] | None = None) -> dict[str, Any]:
    return handler({"step": "prepare", "state": state or {}, "execution": execution}, None, aws.clients)


def step(aws: Aws, name: str, state: dict[str, Any]) -> dict[str, Any]:
    return handler({"step": name, "state": state}, None, aws.clients)


def made(aws: Aws) -> tuple[list[str], list[str]]:
    return names(aws.sagemaker)


# --- prepare: create, update, none, busy ----------------------------------------------------------


def test_without_an_endpoint_prepare_makes_the_newest_approved_versions_model_and_config_to_create_it(
    aws: Aws,
) -> None:
    register(aws.sagemaker, APPROVED)
    newest = register(aws.sagemaker, APPROVED)
    plan = prepare(aws, run(aws, "first-deploy"))
    assert set(plan) == {f.name for f in fields(RolloutPlan)}
    assert (plan["action"], plan["target_arn"], plan["target_version"]) == (CREATE, newest, 2)
    assert plan["new_config"] == f"mlops-showcase-v2-{SPEC.settings_hash}" and plan["previous_config"] == ""
    assert made(aws) == ([plan["new_config"]], [plan["new_config"]])
    # The pipeline's Create endpoint state, then a second run: nothing left to do, nothing made.
    aws.sagemaker.create_endpoint(
        EndpointName=SPEC.endpoint, EndpointConfigName=plan["new_config"], Tags=tag_list(project_tags(SETTINGS))
    )
    again = prepare(aws, run(aws, "approval-event"))
    assert (again["action"], again["new_config"]) == (NONE, plan["new_config"])
    assert made(aws) == ([plan["new_config"]], [plan["new_config"]])


def test_a_newer_approved_version_is_an_update_that_names_the_config_to_revert_to_and_repeats_identically(
    aws: Aws,
) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    newer = register(aws.sagemaker, APPROVED)
    plan = prepare(aws, run(aws, "run-1"))
    assert (plan["action"], plan["target_arn"], plan["previous_config"]) == (UPDATE, newer, serving)
    assert plan["new_config"] == SPEC.resource_name(2) and "-v2-" in plan["new_config"]
    assert made(aws) == (sorted([serving, plan["new_config"]]),) * 2
    # Step Functions retries a Lambda task; SageMaker may send an event twice: the same plan, nothing new.
    again = prepare(aws, run(aws, "run-2"))
    assert {k: v for k, v in again.items() if k != "started_at"} == {k: v for k, v in plan.items() if k != "started_at"}
    assert made(aws) == (sorted([serving, plan["new_config"]]),) * 2


def test_names_carry_the_version_and_the_settings_hash_so_a_settings_change_makes_a_new_config(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    bigger = ServingSpec.from_settings(Settings(serverless_memory_size=4096), ROLE)
    for key, value in lambda_environment(bigger).items():
        monkeypatch.setenv(key, value)
    plan = prepare(aws, run(aws, "memory-change"))
    assert (plan["action"], plan["target_version"], plan["previous_config"]) == (UPDATE, 1, serving)
    assert plan["new_config"] == f"mlops-showcase-v1-{bigger.settings_hash}" != serving
    (variant,) = aws.sagemaker.describe_endpoint_config(EndpointConfigName=plan["new_config"])["ProductionVariants"]
    assert variant["ServerlessConfig"]["MemorySizeInMB"] == 4096


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_an_endpoint_that_is_changing_makes_prepare_wait_and_make_nothing(aws: Aws, status: str) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    set_endpoint_status(SPEC, status)
    plan = prepare(aws, run(aws, "run-1"))
    assert plan["action"] == BUSY and status in plan["reason"]
    assert made(aws) == ([serving], [serving])


def test_a_run_waits_while_an_older_run_is_still_going_but_never_for_a_newer_one(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    older = run(aws, "older-run")
    this = run(aws, "this-run", alone=False)
    run(aws, "newer-run", alone=False)
    plan = prepare(aws, this)
    assert plan["action"] == BUSY and plan["reason"] == "waiting for the runs before this one: ['older-run']"
    assert len(made(aws)[0]) == 1
    assert prepare(aws, older)["action"] == UPDATE


def test_a_failed_endpoint_is_deleted_and_created_again_on_the_next_plan(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    set_endpoint_status(SPEC, "Failed", "the container did not pass its ping health check")
    first = prepare(aws, run(aws, "run-1"))
    assert first["action"] == BUSY and "ping health check" in first["reason"]
    assert aws.sagemaker.list_endpoints()["Endpoints"] == []
    assert prepare(aws, run(aws, "run-2"))["action"] == CREATE


def test_a_refused_update_is_replanned_once_and_a_second_refusal_fails_the_run_with_sagemakers_words(
    aws: Aws,
) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    refusal = {"Error": "SageMaker.ValidationException", "Cause": "Cannot update in-progress endpoint"}
    with pytest.raises(DeploymentError) as failed:
        prepare(aws, run(aws, "run-1"), {"failed_request": refusal})
    assert str(failed.value) == (
        f"update of endpoint {SPEC.endpoint} was refused: SageMaker.ValidationException: "
        "Cannot update in-progress endpoint"
    )


def test_an_unknown_step_is_named() -> None:
    with pytest.raises(DeploymentError, match="unknown step 'deploy': prepare, check_bake or confirm"):
        handler({"step": "deploy", "state": {}}, None, {})


# --- the approval path: what a person's decision makes prepare do ----------------------------------


def test_rejecting_the_serving_version_makes_prepare_roll_back_to_the_previous_approved_one(aws: Aws) -> None:
    first = register(aws.sagemaker, APPROVED)
    previous = serve(aws.sagemaker, SPEC, first)
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    set_approval(aws.sagemaker, GROUP, 2, REJECTED, "answers look wrong")
    plan = prepare(aws, run(aws, "rejected-event"))
    assert (plan["action"], plan["target_arn"]) == (UPDATE, first)
    assert (plan["new_config"], plan["previous_config"]) == (previous, serving)


def test_a_pending_or_rejected_version_is_never_a_target(aws: Aws) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, PENDING_MANUAL_APPROVAL)
    register(aws.sagemaker, REJECTED)
    plan = prepare(aws, run(aws, "new-version-event"))
    assert (plan["action"], plan["target_version"], plan["new_config"]) == (NONE, 1, serving)
    assert made(aws) == ([serving], [serving])


def test_approving_a_pending_version_makes_it_the_target(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    pending = register(aws.sagemaker, PENDING_MANUAL_APPROVAL)
    set_approval(aws.sagemaker, GROUP, 2, APPROVED, "checked the sample answers")
    plan = prepare(aws, run(aws, "approved-event"))
    assert (plan["action"], plan["target_arn"]) == (UPDATE, pending)


# --- check_bake: the guard alarms and the version's status during the bake ---------------------


def put_guard_alarms(aws: Aws) -> list[str]:
    return rollout_fixtures.put_guard_alarms(aws.cloudwatch)


def rolled_out(aws: Aws) -> dict[str, Any]:
    """v1 serving, v2 approved: the state after prepare planned the update to v2."""
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    return {"plan": prepare(aws, run(aws, "run-1"))}


def test_an_alarm_already_firing_before_the_rollout_started_does_not_fail_the_bake(aws: Aws) -> None:
    alarms = put_guard_alarms(aws)
    aws.cloudwatch.set_alarm_state(AlarmName=alarms[0], StateValue="ALARM", StateReason="before the rollout")
    time.sleep(0.01)
    outcome = step(aws, "check_bake", rolled_out(aws))
    assert outcome["passed"] is True and outcome["fired"] == [] and outcome["missing"] == []
    assert outcome["reason"].startswith("version 2 passed its bake; guard alarms checked: ")


def test_a_guard_alarm_that_fires_after_the_rollout_started_fails_the_bake_with_its_reason(aws: Aws) -> None:
    alarms = put_guard_alarms(aws)
    state = rolled_out(aws)
    time.sleep(0.01)
    aws.cloudwatch.set_alarm_state(AlarmName=alarms[1], StateValue="ALARM", StateReason="5xx at 12 %")
    outcome = step(aws, "check_bake", state)
    assert outcome["passed"] is False and outcome["fired"] == [alarms[1]]
    assert outcome["reason"] == f"rolled back: {alarms[1]} went to ALARM during the bake of version 2 (5xx at 12 %)"


def test_a_version_rejected_during_the_bake_fails_it_with_the_persons_reason(aws: Aws) -> None:
    put_guard_alarms(aws)
    state = rolled_out(aws)
    set_approval(aws.sagemaker, GROUP, 2, REJECTED, "answers look wrong")
    outcome = step(aws, "check_bake", state)
    assert outcome == {
        "passed": False,
        "reason": "rolled back: version 2 was set to Rejected during the bake (answers look wrong)",
        "fired": [],
        "missing": [],
    }
    # The pipeline rejects with this reason: a valid ApprovalDescription for UpdateModelPackage.
    aws.sagemaker.update_model_package(
        ModelPackageArn=state["plan"]["target_arn"], ModelApprovalStatus=REJECTED, ApprovalDescription=outcome["reason"]
    )


# --- confirm: tidy, and a deploy whose own version was rejected ----------------------------------


def test_confirm_after_an_update_keeps_the_new_and_the_previous_config_and_deletes_older_ones(aws: Aws) -> None:
    oldest = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    previous = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    state = {"plan": prepare(aws, run(aws, "run-1"))}
    new = serve(aws.sagemaker, SPEC, state["plan"]["target_arn"])  # what the Update endpoint state leaves
    other_project = ServingSpec.from_settings(Settings(project_name="other-project"), ROLE)
    foreign = serve(aws.sagemaker, other_project, register(aws.sagemaker, APPROVED))
    outcome = step(aws, "confirm", state)
    assert outcome == {"passed": True, "reason": f"endpoint {SPEC.endpoint} now serves version 3"}
    assert made(aws) == (sorted([previous, new, foreign]),) * 2
    assert oldest not in made(aws)[0]
    assert step(aws, "confirm", state) == outcome  # a retried confirm deletes nothing more


def test_confirm_of_a_run_with_nothing_to_do_says_what_serves(aws: Aws) -> None:
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    state = {"plan": prepare(aws, run(aws, "run-1"))}
    assert step(aws, "confirm", state) == {"passed": True, "reason": f"endpoint {SPEC.endpoint} serves version 1"}
    assert made(aws) == ([serving], [serving])


def test_a_deploy_whose_own_version_was_rejected_fails_and_says_what_serves_instead(aws: Aws) -> None:
    previous = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED, {TRAINING_RUN_KEY: "run-a"}))
    register(aws.sagemaker, APPROVED, {TRAINING_RUN_KEY: "run-b"})
    set_approval(aws.sagemaker, GROUP, 2, REJECTED, "rolled back: latency went to ALARM during the bake")
    state = {"plan": prepare(aws, run(aws, "served-run-b")), "training_run": "run-b"}
    outcome = step(aws, "confirm", state)
    assert outcome == {
        "passed": False,
        "reason": "version 2, which this deploy's training run run-b registered, is Rejected (rolled back: "
        "latency went to ALARM during the bake); the endpoint serves version 1",
    }
    assert made(aws) == ([previous], [previous])
    assert step(aws, "confirm", {**state, "training_run": "run-a"})["passed"] is True


# --- the pipeline's endpoint requests, as the API model checks them --------------------------


def test_the_update_and_revert_requests_built_from_the_plan_are_valid_update_endpoint_requests(aws: Aws) -> None:
    """moto has no UpdateEndpoint: botocore's Stubber checks the requests against the API model."""
    serving = serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    plan = prepare(aws, run(aws, "run-1"))
    stubbed = botocore.session.get_session().create_client(
        "sagemaker", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    arn = f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:endpoint/{SPEC.endpoint}"
    with Stubber(stubbed) as stub:
        for config in (plan["new_config"], plan["previous_config"]):  # Update endpoint, then Revert endpoint
            request = {"EndpointName": SPEC.endpoint, "EndpointConfigName": config}
            stub.add_response("update_endpoint", {"EndpointArn": arn}, request)
            assert stubbed.update_endpoint(**request)["EndpointArn"] == arn
        stub.assert_no_pending_responses()
    assert plan["previous_config"] == serving


def test_two_runs_started_in_the_same_millisecond_go_one_after_the_other_by_name(aws: Aws) -> None:
    serve(aws.sagemaker, SPEC, register(aws.sagemaker, APPROVED))
    register(aws.sagemaker, APPROVED)
    first, second = run(aws, "run-a"), run(aws, "run-b", alone=False)
    second_same_time = {**second, "started": first["started"]}
    assert prepare(aws, second_same_time)["reason"] == "waiting for the runs before this one: ['run-a']"
    assert prepare(aws, first)["action"] == UPDATE


# --- the rollback path, step by step -------------------------------------------------------------


def test_a_failed_bake_reverts_rejects_and_the_rejected_event_then_finds_nothing_to_do(aws: Aws) -> None:
    alarms = rollout_fixtures.put_guard_alarms(aws.cloudwatch)
    first = register(aws.sagemaker, APPROVED)
    previous = serve(aws.sagemaker, SPEC, first)
    register(aws.sagemaker, APPROVED)
    state: dict[str, Any] = {"plan": prepare(aws, run(aws, "approved-event"))}
    serve(aws.sagemaker, SPEC, state["plan"]["target_arn"])  # Update endpoint reached InService
    time.sleep(0.01)
    aws.cloudwatch.set_alarm_state(AlarmName=alarms[0], StateValue="ALARM", StateReason="p90 latency 4 s")
    state["outcome"] = step(aws, "check_bake", state)
    assert state["outcome"]["passed"] is False

    # Revert endpoint (moto has no UpdateEndpoint: what it leaves), then Reject the version, as the states send it.
    serve(aws.sagemaker, SPEC, first)
    aws.sagemaker.update_model_package(
        ModelPackageArn=state["plan"]["target_arn"],
        ModelApprovalStatus=REJECTED,
        ApprovalDescription=state["outcome"]["reason"],
    )
    assert aws.sagemaker.describe_endpoint(EndpointName=SPEC.endpoint)["EndpointConfigName"] == previous

    again = prepare(aws, run(aws, "rejected-event"))
    assert (again["action"], again["target_version"], again["new_config"]) == (NONE, 1, previous)
    assert step(aws, "confirm", {"plan": again}) == {
        "passed": True,
        "reason": f"endpoint {SPEC.endpoint} serves version 1",
    }
    assert made(aws) == ([previous], [previous])
