"""The synthesized pipelines, checked by code other than ours: npm's asl-validator and botocore's API models.

- asl-validator (package.json) checks each definition's structure: state types, transitions,
  reachability, paths, intrinsic functions, ARNs. It does not read a task's Parameters, so each
  task's Parameters are walked against the botocore input shape of the operation it calls.
- The paths of `mlops_core.pipeline_states` (the order the docs and the local demo follow) are
  transitions of the synthesized definitions.
- "No older model after `cdk deploy`": CloudFormation holds no model, config or endpoint, and the
  deployment run a deploy starts changes exactly with what the endpoint serves.
- The retraining and approval rules exist as their settings say, with their patterns and input.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from mlops_core import event_patterns
from mlops_core import pipeline_states as states
from mlops_core.naming import bucket_name
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from monitoring.alarm_rules import drift_alarm_name

from .conftest import ROOT, Synthesized, cdk_json_context, synthesize
from .state_machines import ACCOUNT, REGION, definition, definitions, next_states, tasks

ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
PURPOSES = ("training", "deployment")
# `arn:<partition>:states:::<service>:<action>[.<pattern>]` (an optimised integration) or
# `arn:<partition>:states:::aws-sdk:<service>:<action>` (the SDK integration).
LAMBDA_FUNCTION = re.compile(r"arn:[\w-]+:lambda:[\w-]+:\d{12}:function:[\w-]+")
TASK_RESOURCE = re.compile(r"arn:[\w-]+:states:::(?:aws-sdk:)?(?P<service>[\w-]+):(?P<action>\w+)(?:\.\w+)?")


def asl_validator(definition: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    """Run the pinned asl-validator on one definition (written to `path`)."""
    path.write_text(json.dumps(definition))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("purpose", PURPOSES)
def test_asl_validator_accepts_each_synthesized_definition(synthesized: Synthesized, purpose: str, tmp_path):
    result = asl_validator(definition(synthesized.templates, purpose), tmp_path / f"{purpose}.asl.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_asl_validator_refuses_a_dangling_transition_and_an_unreachable_state(synthesized: Synthesized, tmp_path):
    broken = copy.deepcopy(definition(synthesized.templates, "deployment"))
    broken["States"][states.BAKE]["Next"] = "Nowhere"
    result = asl_validator(broken, tmp_path / "dangling.asl.json")
    assert result.returncode == 1 and "MISSING_TRANSITION_TARGET" in result.stdout + result.stderr

    orphaned = copy.deepcopy(definition(synthesized.templates, "training"))
    orphaned["States"]["Orphan"] = {"Type": "Succeed"}
    result = asl_validator(orphaned, tmp_path / "orphan.asl.json")
    assert result.returncode == 1 and "Orphan" in result.stdout + result.stderr


# --- task parameters against botocore ------------------------------------------------------------


def _operation(resource: str) -> Any:
    match = TASK_RESOURCE.fullmatch(resource)
    assert match, f"not a service integration: {resource}"
    action = match["action"]
    model = botocore.session.get_session().get_service_model(match["service"])
    return model.operation_model(action[0].upper() + action[1:])


def parameter_problems(parameters: Any, shape: Any, where: str) -> list[str]:
    """What in `parameters` the botocore input `shape` does not allow: unknown members, missing required
    ones, literals of the wrong type or outside an enum. A `key.$` member is a path or an intrinsic
    whose value only the execution knows: its name is checked, its value is not."""
    if shape.type_name == "structure":
        if not isinstance(parameters, dict):
            return [f"{where}: {shape.name} takes an object, got {parameters!r}"]
        problems = []
        given = {key.removesuffix(".$"): (key.endswith(".$"), value) for key, value in parameters.items()}
        for name, (dynamic, value) in given.items():
            if name not in shape.members:
                problems.append(f"{where}.{name}: not a member of {shape.name}")
            elif not dynamic:
                problems += parameter_problems(value, shape.members[name], f"{where}.{name}")
        problems += [
            f"{where}.{name}: required by {shape.name}" for name in shape.required_members if name not in given
        ]
        return problems
    if shape.type_name == "list":
        if not isinstance(parameters, list):
            return [f"{where}: takes a list, got {parameters!r}"]
        return [p for i, item in enumerate(parameters) for p in parameter_problems(item, shape.member, f"{where}[{i}]")]
    if shape.type_name == "map":
        if not isinstance(parameters, dict):
            return [f"{where}: takes a map, got {parameters!r}"]
        return [p for k, v in parameters.items() for p in parameter_problems(v, shape.value, f"{where}.{k}")]
    if shape.type_name == "blob":
        return []  # Lambda's Payload: Step Functions serializes the JSON
    expected = {"string": str, "integer": int, "long": int, "boolean": bool, "float": float, "double": float}
    kind = expected.get(shape.type_name)
    if kind is not None and (not isinstance(parameters, kind) or (kind is int and isinstance(parameters, bool))):
        return [f"{where}: takes a {shape.type_name}, got {parameters!r}"]
    enum = getattr(shape, "enum", None)
    if enum and parameters not in enum:
        return [f"{where}: {parameters!r} is none of {enum}"]
    return []


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_task_calls_a_real_operation_with_members_of_its_input_shape(synthesized: Synthesized, purpose: str):
    checked, problems = [], []
    for name, state in tasks(definition(synthesized.templates, purpose)):
        if LAMBDA_FUNCTION.fullmatch(state["Resource"]):
            # Invoked directly (the payload is the Parameters, the response the result): our own handlers' input.
            checked.append("Invoke")
            continue
        operation = _operation(state["Resource"])
        problems += parameter_problems(state.get("Parameters", {}), operation.input_shape, f"{name}")
        checked.append(operation.name)
    assert problems == []
    expected = {"training": {"CreateTrainingJob", "Invoke", "Publish", "DescribeModelPackage"}}
    expected["deployment"] = {"Invoke", "Publish", "CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint"}
    expected["deployment"] |= {"UpdateModelPackage"}
    assert set(checked) == expected[purpose]


def test_the_parameter_check_finds_a_misspelled_member_a_missing_one_and_a_wrong_enum(synthesized: Synthesized):
    train = copy.deepcopy(definition(synthesized.templates, "training")["States"][states.TRAIN])
    operation = _operation(train["Resource"])
    parameters = train["Parameters"]
    parameters["TrainingJobNam.$"] = parameters.pop("TrainingJobName.$")
    parameters["AlgorithmSpecification"]["TrainingInputMode"] = "Streaming"
    assert parameter_problems(parameters, operation.input_shape, "Train") == [
        "Train.AlgorithmSpecification.TrainingInputMode: 'Streaming' is none of ['Pipe', 'File', 'FastFile']",
        "Train.TrainingJobNam: not a member of CreateTrainingJobRequest",
        "Train.TrainingJobName: required by CreateTrainingJobRequest",
    ]


# --- the paths the docs and the demo follow -------------------------------------------------------
PATHS = {
    "TRAINING_SUCCESS_PATH": ("training", states.TRAINING_SUCCESS_PATH),
    "TRAINING_APPROVAL_PATH": ("training", states.TRAINING_APPROVAL_PATH),
    "DEPLOYMENT_SUCCESS_PATH": ("deployment", states.DEPLOYMENT_SUCCESS_PATH),
    "DEPLOYMENT_ROLLBACK_PATH": ("deployment", states.DEPLOYMENT_ROLLBACK_PATH),
}


@pytest.mark.parametrize("path_name", PATHS)
def test_each_named_path_is_a_walk_through_the_synthesized_definition(synthesized: Synthesized, path_name: str):
    purpose, path = PATHS[path_name]
    machine = definition(synthesized.templates, purpose)
    assert path[0] == machine["StartAt"]
    missing = [(a, b) for a, b in itertools.pairwise(path) if b not in next_states(machine["States"][a])]
    assert missing == []
    assert machine["States"][path[-1]]["Type"] in ("Succeed", "Fail")


def test_a_path_that_skips_a_state_is_not_a_walk(synthesized: Synthesized):
    machine = definition(synthesized.templates, "deployment")
    # The bake cannot be skipped: an update goes to the guard alarms only through the Wait.
    assert states.CHECK_GUARD_ALARMS not in next_states(machine["States"][states.ENDPOINT_READY])
    assert states.BAKE in next_states(machine["States"][states.ENDPOINT_READY])


def test_a_failed_bake_reverts_before_it_rejects_and_a_rejected_version_never_deploys(synthesized: Synthesized):
    machine = definition(synthesized.templates, "deployment")["States"]
    assert next_states(machine[states.BAKE_PASSED]) == {states.CONFIRM_RUN, states.REVERT_ENDPOINT}
    revert = machine[states.REVERT_ENDPOINT]
    assert revert["Resource"].endswith(":states:::sagemaker:updateEndpoint")
    assert revert["Parameters"]["EndpointConfigName.$"] == "$.plan.previous_config"
    reject = machine[states.REJECT_VERSION]
    assert reject["Parameters"]["ModelApprovalStatus"] == REJECTED
    # Every way out of the rollback ends in the failure notification: a rejected version is no success.
    assert next_states(reject) == {states.NOT_PASSED}
    assert machine[states.NOT_PASSED]["Next"] == states.NOTIFY_NOT_DEPLOYED


def test_guard_alarms_that_cannot_be_read_fail_the_bake_and_revert(synthesized: Synthesized):
    machine = definition(synthesized.templates, "deployment")["States"]
    (catch,) = machine[states.CHECK_GUARD_ALARMS]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == states.BAKE_NOT_CHECKED
    not_checked = machine[states.BAKE_NOT_CHECKED]
    assert not_checked["Parameters"]["passed"] is False and not_checked["Next"] == states.REVERT_ENDPOINT


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_notification_that_fails_never_decides_the_run_nor_keeps_a_deploy_from_its_signal(
    synthesized: Synthesized, purpose: str
):
    notifications = [
        (name, state)
        for name, state in definition(synthesized.templates, purpose)["States"].items()
        if state.get("Resource", "").endswith(":states:::sns:publish")
    ]
    assert len(notifications) >= 2
    for name, state in notifications:
        assert state["Retry"][0]["ErrorEquals"] == ["States.ALL"], name
        (catch,) = state["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": state["Next"]}, name


# --- no older model after `cdk deploy` ------------------------------------------------------------
def test_cloudformation_holds_no_model_config_or_endpoint_so_it_cannot_roll_the_endpoint_back(
    synthesized: Synthesized,
):
    for template in synthesized.templates.values():
        kinds = {resource["Type"] for resource in template["Resources"].values()}
        assert not kinds & {"AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"}
        assert "Custom::ApprovedModelPackage" not in kinds


def _served_model_run(app: Synthesized) -> tuple[str, str]:
    """The endpoint stack's deployment run: its run id and its wait condition's logical ID."""
    template = app.template("endpoint")
    (run,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::PipelineRun"]
    (condition,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudFormation::WaitCondition"]
    return run["Properties"]["RunId"], condition


CHANGES = {
    "serverless_memory_size": ("3072", True),
    "serverless_max_concurrency": ("5", True),
    "serverless_provisioned_concurrency": ("1", True),
    "bake_minutes": ("30", True),
    "retrain_token": ("capacity-retry-1", True),  # a new training run
    "alert_email": ("ops@example.com", False),
    "drift_schedule": ("rate(2 hours)", False),
}


@pytest.mark.parametrize("setting", CHANGES)
def test_the_deployment_run_changes_exactly_when_what_the_endpoint_serves_changes(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory, setting: str
):
    value, changes = CHANGES[setting]
    assert str(cdk_json_context().get(setting)) != value
    changed = synthesize(tmp_path_factory.mktemp(setting), {setting: value}, nag=False)
    before, after = _served_model_run(synthesized), _served_model_run(changed)
    if changes:
        # a new run id starts a new execution, on a new wait handle and condition
        assert before[0] != after[0] and before[1] != after[1]
    else:
        assert before == after


# --- triggers -------------------------------------------------------------------------------------
RETRAIN_ALL = {"retrain_schedule": "rate(7 days)", "retrain_on_new_data": "false", "retrain_on_drift": "true"}


@pytest.fixture(scope="module")
def retrain_all(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Schedule and drift retraining on, new-data retraining off."""
    return synthesize(tmp_path_factory.mktemp("retrain"), RETRAIN_ALL, nag=False)


def _rules(app: Synthesized, suffix: str) -> list[dict[str, Any]]:
    from .iam_policies import Resolver

    resolver = Resolver(app.templates, ACCOUNT, REGION)
    stack = next(name for name in app.templates if name.endswith(f"-{suffix}"))
    return [
        resolver.resolve(stack, r["Properties"])
        for r in app.templates[stack]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
    ]


def _target_input(rule: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The execution input the rule's target would send for `event` (EventBridge's input transformer)."""
    (target,) = rule["Targets"]
    transformer = target["InputTransformer"]
    text = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)


TRAINING_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlops-showcase-training"


def test_by_default_only_new_labelled_data_retrains(synthesized: Synthesized):
    bucket = bucket_name("mlops-showcase", "data", ACCOUNT, REGION)
    (rule,) = _rules(synthesized, "registry")
    assert rule["EventPattern"] == event_patterns.new_labelled_data(bucket, "labelled")
    assert rule["Targets"][0]["Arn"] == TRAINING_ARN
    assert _target_input(rule, {"id": "event-1"}) == {
        "trigger": "new-data",
        "run_id": "event-1",
        "data": {"train": f"s3://{bucket}/labelled/train/", "validation": f"s3://{bucket}/labelled/validation/"},
    }


def test_schedule_and_drift_retrain_when_their_settings_say_so(retrain_all: Synthesized):
    rules = _rules(retrain_all, "registry")
    assert len(rules) == 2
    (schedule,) = [r for r in rules if "ScheduleExpression" in r]
    assert schedule["ScheduleExpression"] == "rate(7 days)"
    assert _target_input(schedule, {"id": "event-2"})["trigger"] == "schedule"
    (drift,) = [r for r in rules if "EventPattern" in r]
    assert drift["EventPattern"] == event_patterns.drift_alarm_fired(drift_alarm_name(_settings(RETRAIN_ALL)))
    assert drift["EventPattern"]["detail"]["state"] == {"value": ["ALARM"]}
    assert _target_input(drift, {"id": "event-3"})["trigger"] == "drift"
    assert all(r["Targets"][0]["Arn"] == TRAINING_ARN for r in rules)


def _settings(context: dict[str, str]) -> Any:
    from mlops_core.settings import Settings

    return Settings.from_context({**cdk_json_context(), **context})


def test_an_approval_or_rejection_in_our_group_starts_the_deployment_pipeline(synthesized: Synthesized):
    (rule,) = _rules(synthesized, "endpoint")
    assert rule["EventPattern"] == event_patterns.approval_decided("mlops-showcase-models")
    assert set(rule["EventPattern"]["detail"]["ModelApprovalStatus"]) == {APPROVED, REJECTED}
    assert PENDING_MANUAL_APPROVAL not in json.dumps(rule["EventPattern"])
    assert rule["Targets"][0]["Arn"].endswith(":stateMachine:mlops-showcase-deployment")
    event = {"id": "event-4", "detail": {"ModelPackageVersion": 3, "ModelApprovalStatus": APPROVED}}
    assert _target_input(rule, event) == {
        "trigger": "approval",
        "run_id": "event-4",
        "event": {"version": 3, "status": APPROVED},
    }


def test_all_definitions_are_found(synthesized: Synthesized):
    assert sorted(definitions(synthesized.templates)) == ["mlops-showcase-deployment", "mlops-showcase-training"]


# --- the approval loop of the real definition on moto's executor ---------------------------------
# moto runs Pass, Choice, Wait, SNS and SDK tasks of a definition (a port of LocalStack's
# interpreter); not the `.sync` training task nor Lambda tasks (Docker). So the fragment starts at
# "Read approval status", everything else unchanged, with a short poll in its input's `run.timing`.
GROUP = "mlops-showcase-models"
FRAGMENT_START = states.READ_APPROVAL


def _run_fragment(
    sfn: Any, machine: dict[str, Any], run_input: dict[str, Any], name: str, start: str = FRAGMENT_START
) -> dict[str, Any]:
    import time

    fragment = {**machine, "StartAt": start}
    arn = sfn.create_state_machine(
        name=name, definition=json.dumps(fragment), roleArn=f"arn:aws:iam::{ACCOUNT}:role/training-pipeline"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(run_input))["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the fragment did not finish"
        time.sleep(0.1)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    return {**described, "entered": entered}


@pytest.fixture(scope="module")
def approval_loop(synthesized: Synthesized) -> Any:
    """moto with the executor on, the alert topic the definition names, a group with three versions."""
    import boto3
    from moto import mock_aws

    machine = definition(synthesized.templates, "training")
    topic_arn = machine["States"][states.NOTIFY_REGISTERED]["Parameters"]["TopicArn"]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients = {n: boto3.client(n, region_name=REGION) for n in ("sagemaker", "sns", "stepfunctions")}
        assert clients["sns"].create_topic(Name=topic_arn.rsplit(":", 1)[1])["TopicArn"] == topic_arn
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        spec = {
            "Containers": [{"Image": "image", "ModelDataUrl": "s3://bucket/models/job/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        }
        versions = {
            status: clients["sagemaker"].create_model_package(
                ModelPackageGroupName=GROUP, InferenceSpecification=spec, ModelApprovalStatus=status
            )["ModelPackageArn"]
            for status in (APPROVED, REJECTED, PENDING_MANUAL_APPROVAL)
        }
        yield machine, clients["stepfunctions"], versions


def _waiting_run(arn: str) -> dict[str, Any]:
    """A run's state when it starts waiting for a person (no deploy waits on it: no `wait_handle`)."""
    timing = {"approval_poll_seconds": 1, "approval_polls": 2}
    return {
        "run_id": "run-1",
        "run": {"job_name": "mlops-showcase-0a1b", "timing": timing, "waited": {"polls": 0}},
        "version": {"arn": arn, "version": int(arn.rsplit("/", 1)[1]), "reason": "validation AUC 0.91 >= 0.75"},
    }


@pytest.mark.parametrize(
    ("status", "outcome", "last"),
    [
        (APPROVED, "SUCCEEDED", states.REGISTERED),
        (REJECTED, "FAILED", states.NOT_REGISTERED),
        (PENDING_MANUAL_APPROVAL, "FAILED", states.NOT_REGISTERED),
    ],
)
def test_the_synthesized_approval_loop_runs_on_motos_executor(approval_loop, status, outcome, last):
    machine, sfn, versions = approval_loop
    result = _run_fragment(sfn, machine, _waiting_run(versions[status]), f"approval-{status.lower()}")
    assert result["status"] == outcome, result
    assert result["entered"][0] == FRAGMENT_START and result["entered"][-1] == last
    # no deploy waits on this run: neither tail signals CloudFormation
    assert states.SIGNAL_SUCCESS not in result["entered"] and states.SIGNAL_FAILURE not in result["entered"]
    if status == APPROVED:
        assert states.NOTIFY_REGISTERED in result["entered"]
    elif status == REJECTED:
        assert states.REJECTED_BY_PERSON in result["entered"] and result["error"] == "RejectedByPerson"
    else:
        # a pending version is polled until the approval wait runs out, then the run fails
        assert result["entered"].count(states.READ_APPROVAL) == 3
        assert states.NO_DECISION in result["entered"] and result["error"] == "NoDecision"


# --- the refused update of the real deployment definition on moto's executor ---------------------
def test_an_update_sagemaker_refused_rejects_the_version_notifies_and_fails_on_motos_executor(synthesized):
    """From "Wait for the endpoint": the endpoint is InService on the previous config, not the plan's new one."""
    import boto3
    from moto import mock_aws

    machine = definition(synthesized.templates, "deployment")
    topic_arn = machine["States"][states.NOTIFY_NOT_DEPLOYED]["Parameters"]["TopicArn"]
    endpoint = machine["States"][states.DESCRIBE_ENDPOINT]["Parameters"]["EndpointName"]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sm, sns, sfn = (boto3.client(n, region_name=REGION) for n in ("sagemaker", "sns", "stepfunctions"))
        sns.create_topic(Name=topic_arn.rsplit(":", 1)[1])
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        spec = {
            "Containers": [{"Image": "image", "ModelDataUrl": "s3://bucket/models/job/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        }
        target = sm.create_model_package(
            ModelPackageGroupName=GROUP, InferenceSpecification=spec, ModelApprovalStatus=APPROVED
        )["ModelPackageArn"]
        previous = "mlops-showcase-v1-0a1b2c3d"
        sm.create_model(
            ModelName=previous,
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/execution",
            PrimaryContainer={"ModelPackageName": target},
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": previous,
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
        }
        sm.create_endpoint_config(EndpointConfigName=previous, ProductionVariants=[variant])
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=previous)
        run_input = {
            "run_id": "run-2",
            "run": {"timing": {"endpoint_poll_seconds": 1, "busy_wait_seconds": 1, "bake_seconds": 1}},
            "plan": {
                "action": "update",
                "target_arn": target,
                "target_version": 1,
                "new_config": "mlops-showcase-v2-0a1b2c3d",
                "previous_config": previous,
            },
        }
        result = _run_fragment(sfn, machine, run_input, "refused-update", start=states.WAIT_FOR_ENDPOINT)
        assert result["status"] == "FAILED" and result["error"] == "NotDeployed", result
        assert result["entered"] == [
            states.WAIT_FOR_ENDPOINT,
            states.DESCRIBE_ENDPOINT,
            states.ENDPOINT_READY,
            states.UPDATE_REFUSED,
            states.REJECT_VERSION,
            states.NOT_PASSED,
            states.NOTIFY_NOT_DEPLOYED,
            states.SIGNAL_FAILURE_CHOICE,
            states.NOT_DEPLOYED,
        ]
        package = sm.describe_model_package(ModelPackageName=target)
        assert package["ModelApprovalStatus"] == REJECTED
        assert f"kept endpoint {endpoint} on {previous}" in package["ApprovalDescription"]
