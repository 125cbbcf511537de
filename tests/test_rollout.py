"""The rollout core on moto (every request checked as AWS checks it): plan, model and config, tidy, bake, approval.

moto has no UpdateEndpoint and every endpoint it creates is InService at once; a test that needs
an endpoint in another state, or serving another config, sets it in moto's backend and says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.request_checks import RequestChecker
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_core.settings import Settings
from mlops_stacks.handlers.rollout import (
    BUSY,
    CREATE,
    NONE,
    UPDATE,
    ServingSpec,
    UnknownVersion,
    bake_verdict,
    create_model_and_config,
    delete_deployed,
    newest_approved_version,
    plan_rollout,
    set_approval,
    tidy,
)
from mlops_stacks.handlers.rollout.plan import REPLACE, NoApprovedVersion
from monitoring.alarm_rules import guard_alarm_names
from tests import rollout_fixtures
from tests.aws_fixtures import checked_boto3, moto_update_model_package_as_documented
from tests.rollout_fixtures import GROUP, REGION, ROLE, SETTINGS, SPEC, set_endpoint_status


@dataclass
class Aws:
    sagemaker: Any
    cloudwatch: Any
    checker: RequestChecker


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), moto_update_model_package_as_documented(), checked_boto3() as checker:
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield Aws(sagemaker, boto3.client("cloudwatch"), checker)


def register(aws: Aws, status: str) -> str:
    return rollout_fixtures.register(aws.sagemaker, status)


def serve(aws: Aws, spec: ServingSpec, arn: str) -> str:
    return rollout_fixtures.serve(aws.sagemaker, spec, arn)


def names(aws: Aws) -> tuple[list[str], list[str]]:
    return rollout_fixtures.names(aws.sagemaker)


# --- the newest approved version ---------------------------------------------------------------


def test_the_newest_approved_version_skips_pending_and_rejected_ones(aws: Aws) -> None:
    assert newest_approved_version(aws.sagemaker, GROUP) is None
    first = register(aws, APPROVED)
    register(aws, PENDING_MANUAL_APPROVAL)
    register(aws, REJECTED)
    assert newest_approved_version(aws.sagemaker, GROUP)["ModelPackageArn"] == first


# --- plan ----------------------------------------------------------------------------------------


def test_without_an_endpoint_the_plan_creates_it_on_the_newest_approved_version(aws: Aws) -> None:
    register(aws, APPROVED)
    second = register(aws, APPROVED)
    plan = plan_rollout(aws.sagemaker, GROUP, SPEC)
    assert (plan.action, plan.target_arn, plan.target_version) == (CREATE, second, 2)
    assert plan.new_config == SPEC.resource_name(2) and plan.previous_config == ""
    assert datetime.fromisoformat(plan.started_at) <= datetime.now(UTC)


def test_an_endpoint_serving_the_newest_approved_version_needs_nothing(aws: Aws) -> None:
    serve(aws, SPEC, register(aws, APPROVED))
    plan = plan_rollout(aws.sagemaker, GROUP, SPEC)
    assert plan.action == NONE
    assert "already serves version 1" in plan.reason


def test_a_newer_approved_version_is_an_update_that_remembers_the_config_to_revert_to(aws: Aws) -> None:
    old_config = serve(aws, SPEC, register(aws, APPROVED))
    newer = register(aws, APPROVED)
    plan = plan_rollout(aws.sagemaker, GROUP, SPEC)
    assert (plan.action, plan.target_arn, plan.previous_config) == (UPDATE, newer, old_config)
    assert plan.as_output()["new_config"] == SPEC.resource_name(2)


def test_pending_and_rejected_versions_are_never_a_target(aws: Aws) -> None:
    serve(aws, SPEC, register(aws, APPROVED))
    register(aws, PENDING_MANUAL_APPROVAL)
    register(aws, REJECTED)
    assert plan_rollout(aws.sagemaker, GROUP, SPEC).action == NONE


def test_rejecting_the_serving_version_plans_the_previous_approved_one(aws: Aws) -> None:
    first = register(aws, APPROVED)
    serve(aws, SPEC, first)
    second = register(aws, APPROVED)
    serving = serve(aws, SPEC, second)
    set_approval(aws.sagemaker, GROUP, 2, REJECTED, "rolled back: latency")
    plan = plan_rollout(aws.sagemaker, GROUP, SPEC)
    assert (plan.action, plan.target_arn, plan.previous_config) == (UPDATE, first, serving)


def test_a_settings_change_rolls_the_same_version_out_with_a_new_config_never_an_older_version(aws: Aws) -> None:
    register(aws, APPROVED)
    second = register(aws, APPROVED)
    serving = serve(aws, SPEC, second)
    bigger = ServingSpec.from_settings(Settings(serverless_memory_size=4096), ROLE)
    plan = plan_rollout(aws.sagemaker, GROUP, bigger)
    assert (plan.action, plan.target_arn, plan.previous_config) == (UPDATE, second, serving)
    assert plan.new_config == bigger.resource_name(2) != serving


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_an_endpoint_that_is_changing_makes_the_plan_wait(aws: Aws, status: str) -> None:
    serve(aws, SPEC, register(aws, APPROVED))
    register(aws, APPROVED)
    set_endpoint_status(SPEC, status)
    assert plan_rollout(aws.sagemaker, GROUP, SPEC).action == BUSY


def test_a_failed_endpoint_is_replaced_and_its_reason_kept(aws: Aws) -> None:
    serve(aws, SPEC, register(aws, APPROVED))
    set_endpoint_status(SPEC, "Failed", "the model container did not pass its ping health check")
    plan = plan_rollout(aws.sagemaker, GROUP, SPEC)
    assert plan.action == REPLACE
    assert "did not pass its ping health check" in plan.reason


def test_without_an_approved_version_the_plan_says_how_to_get_one(aws: Aws) -> None:
    register(aws, PENDING_MANUAL_APPROVAL)
    with pytest.raises(NoApprovedVersion, match=r"has no Approved version: approve one with `mlops approve N`"):
        plan_rollout(aws.sagemaker, GROUP, SPEC)


# --- models and configs --------------------------------------------------------------------------


def test_names_carry_the_version_and_a_hash_of_the_serving_settings() -> None:
    name = SPEC.resource_name(12)
    assert name.startswith("mlops-showcase-v12-") and len(name) <= 63 and SPEC.is_ours(name)
    for changed in (
        Settings(serverless_memory_size=3072),
        Settings(serverless_max_concurrency=4),
        Settings(serverless_max_concurrency=4, serverless_provisioned_concurrency=1),
    ):
        assert ServingSpec.from_settings(changed, ROLE).resource_name(12) != name
    assert ServingSpec.from_settings(SETTINGS, ROLE + "-other").resource_name(12) != name
    assert ServingSpec.from_settings(Settings(alert_email="ops@example.com"), ROLE).resource_name(12) == name
    assert ServingSpec.from_env(SPEC.as_env()) == SPEC


def test_making_a_versions_model_and_config_twice_creates_them_once_and_tags_them(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    name = create_model_and_config(aws.sagemaker, SPEC, arn, 1)
    assert create_model_and_config(aws.sagemaker, SPEC, arn, 1) == name
    assert names(aws) == ([name], [name])
    model = aws.sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelPackageName"] == arn and model["ExecutionRoleArn"] == ROLE
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    tags = aws.sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"project": "mlops-showcase", "cost-center": "ml-platform"}


def test_provisioned_concurrency_is_in_the_config_only_when_set(aws: Aws) -> None:
    spec = ServingSpec.from_settings(Settings(serverless_max_concurrency=4, serverless_provisioned_concurrency=2), ROLE)
    name = create_model_and_config(aws.sagemaker, spec, register(aws, APPROVED), 1)
    (variant,) = aws.sagemaker.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]
    assert variant["ServerlessConfig"]["ProvisionedConcurrency"] == 2


def test_tidy_keeps_what_it_is_told_and_leaves_other_projects_alone(aws: Aws) -> None:
    made = [create_model_and_config(aws.sagemaker, SPEC, register(aws, APPROVED), v) for v in (1, 2, 3)]
    other = ServingSpec.from_settings(Settings(project_name="other-project"), ROLE)
    foreign = create_model_and_config(aws.sagemaker, other, register(aws, APPROVED), 4)
    deleted = tidy(aws.sagemaker, SPEC, keep=made[1:])
    assert deleted == [f"endpoint-config/{made[0]}", f"model/{made[0]}"]
    assert names(aws) == (sorted([*made[1:], foreign]), sorted([*made[1:], foreign]))


def test_destroy_deletes_the_endpoint_and_every_config_and_model_the_deployer_made(aws: Aws) -> None:
    serve(aws, SPEC, register(aws, APPROVED))
    serve(aws, SPEC, register(aws, APPROVED))
    deleted = delete_deployed(aws.sagemaker, SPEC, sleep=lambda _: None)
    assert deleted[0] == f"endpoint/{SPEC.endpoint}" and len(deleted) == 5
    assert names(aws) == ([], [])
    assert aws.sagemaker.list_endpoints()["Endpoints"] == []
    assert delete_deployed(aws.sagemaker, SPEC, sleep=lambda _: None) == []


# --- bake ----------------------------------------------------------------------------------------


def put_guard_alarms(aws: Aws) -> list[str]:
    return rollout_fixtures.put_guard_alarms(aws.cloudwatch)


def test_the_bake_passes_when_no_guard_alarm_fired_since_the_rollout(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    alarms = put_guard_alarms(aws)
    verdict = bake_verdict(aws.cloudwatch, aws.sagemaker, alarm_names=alarms, since=datetime.now(UTC), version_arn=arn)
    assert verdict.passed and verdict.fired == () and verdict.missing == ()
    assert "version 1 passed its bake" in verdict.reason


def test_an_alarm_that_fired_before_the_rollout_does_not_fail_the_bake_one_after_does(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    alarms = put_guard_alarms(aws)
    aws.cloudwatch.set_alarm_state(AlarmName=alarms[0], StateValue="ALARM", StateReason="p50 at 9 s")
    after_it_fired = datetime.now(UTC) + timedelta(seconds=1)
    verdict = bake_verdict(aws.cloudwatch, aws.sagemaker, alarm_names=alarms, since=after_it_fired, version_arn=arn)
    assert verdict.passed
    before_it_fired = datetime.now(UTC) - timedelta(minutes=1)
    verdict = bake_verdict(aws.cloudwatch, aws.sagemaker, alarm_names=alarms, since=before_it_fired, version_arn=arn)
    assert not verdict.passed and verdict.fired == (alarms[0],)
    assert verdict.reason.startswith(f"rolled back: {alarms[0]} went to ALARM during the bake of version 1")
    assert "p50 at 9 s" in verdict.as_output()["reason"]


def test_a_bake_reason_fits_the_approval_description_it_becomes(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    alarms = put_guard_alarms(aws)
    since = datetime.now(UTC) - timedelta(minutes=1)
    for alarm in alarms:
        aws.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="threshold crossed " * 56)
    verdict = bake_verdict(aws.cloudwatch, aws.sagemaker, alarm_names=alarms, since=since, version_arn=arn)
    assert not verdict.passed and len(verdict.reason) <= 1024 and verdict.reason.endswith("…")
    set_approval(aws.sagemaker, GROUP, 1, REJECTED, verdict.reason)


def test_a_version_rejected_during_the_bake_fails_it_keeping_the_persons_reason(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    alarms = put_guard_alarms(aws)
    since = datetime.now(UTC)
    set_approval(aws.sagemaker, GROUP, 1, REJECTED, "answers look wrong")
    verdict = bake_verdict(aws.cloudwatch, aws.sagemaker, alarm_names=alarms, since=since, version_arn=arn)
    assert not verdict.passed
    assert verdict.reason == "rolled back: version 1 was set to Rejected during the bake (answers look wrong)"


def test_missing_guard_alarms_are_reported_not_mistaken_for_quiet_ones(aws: Aws) -> None:
    arn = register(aws, APPROVED)
    verdict = bake_verdict(
        aws.cloudwatch, aws.sagemaker, alarm_names=guard_alarm_names(SETTINGS), since=datetime.now(UTC), version_arn=arn
    )
    assert verdict.passed and set(verdict.missing) == set(guard_alarm_names(SETTINGS))
    assert "none exist yet" in verdict.reason


# --- approval ------------------------------------------------------------------------------------


def test_approving_a_pending_version_records_the_decision_and_why(aws: Aws) -> None:
    arn = register(aws, PENDING_MANUAL_APPROVAL)
    request = set_approval(aws.sagemaker, GROUP, 1, APPROVED, "checked the\nsample answers")
    assert request == {
        "ModelPackageArn": arn,
        "ModelApprovalStatus": APPROVED,
        "ApprovalDescription": "checked the sample answers",
    }
    package = aws.sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == APPROVED
    assert package["ApprovalDescription"] == "checked the sample answers"


def test_an_unknown_version_is_refused_in_one_line_naming_the_versions_there_are(aws: Aws) -> None:
    register(aws, APPROVED)
    register(aws, APPROVED)
    with pytest.raises(UnknownVersion) as refused:
        set_approval(aws.sagemaker, GROUP, 7, APPROVED, "")
    assert str(refused.value) == f"version 7 is not in model package group {GROUP} (versions 1-2)"
    with pytest.raises(ValueError, match="Approved or Rejected"):
        set_approval(aws.sagemaker, GROUP, 1, PENDING_MANUAL_APPROVAL, "")


def test_a_group_without_versions_says_so(aws: Aws) -> None:
    with pytest.raises(UnknownVersion, match=r"\(no versions\)$"):
        set_approval(aws.sagemaker, GROUP, 1, REJECTED, "")


def test_the_approval_request_is_the_documented_update_model_package_input() -> None:
    import botocore.session

    from mlops_stacks.handlers.rollout.approval import approval_request

    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model("UpdateModelPackage")
    request = approval_request("arn:aws:sagemaker:us-east-1:1:model-package/g/1", REJECTED, "x" * 2000)
    assert set(request) <= set(shape.input_shape.members)
    assert len(request["ApprovalDescription"]) == 1024
    assert json.dumps(request)
