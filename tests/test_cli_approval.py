"""`mlops approve` / `mlops reject`: one UpdateModelPackage on the project's group, checked against botocore's model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_cli import cloud_verbs
from mlops_cli.main import main
from mlops_core.settings import Settings
from mlops_stacks.handlers.rollout import plan_rollout
from mlops_stacks.handlers.rollout.serving import ServingSpec
from tests.aws_fixtures import checked_boto3, moto_update_model_package_as_documented

REGION = "us-east-1"
SETTINGS = Settings()
GROUP = SETTINGS.model_package_group_name
cloud_verbs_session = cloud_verbs.aws_session


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """moto with checked requests, AWS_REGION set, the default settings (no cdk.json), and three versions."""
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.chdir(tmp_path)
    with mock_aws(), moto_update_model_package_as_documented(), checked_boto3() as checker:
        # The verb builds its own session (the AWS CLI's Region order): its requests are checked too.
        def checked_session(region: str | None) -> boto3.Session:
            session = cloud_verbs_session(region)
            checker.register(session.events)
            sessions.append(session)
            return session

        sessions: list[boto3.Session] = []
        monkeypatch.setattr(cloud_verbs, "aws_session", checked_session)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        for status in ("Approved", "Approved", "PendingManualApproval"):
            sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1",
                            "ModelDataUrl": "s3://b/m.tar.gz",
                        }
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        yield sessions


def status_of(version: int) -> tuple[str, str]:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/{version}"
    package = boto3.client("sagemaker", region_name=REGION).describe_model_package(ModelPackageName=arn)
    return package["ModelApprovalStatus"], package.get("ApprovalDescription", "")


def test_approve_sets_the_pending_version_approved_with_the_reason(
    registry: list[boto3.Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["approve", "3", "--reason", "checked the\nconfusion matrix"]) == 0
    assert status_of(3) == ("Approved", "checked the confusion matrix")
    out = capsys.readouterr().out
    assert out.startswith(f"{GROUP} version 3: Approved (checked the confusion matrix)")
    assert [s.region_name for s in registry] == [REGION]  # AWS_REGION, through the checked session


def test_a_long_reason_is_cut_to_what_update_model_package_accepts(registry: object) -> None:
    # The request checker refuses an ApprovalDescription over 1024 characters, as SageMaker does.
    assert run(["approve", "3", "--reason", "x" * 5000]) == 0
    status, description = status_of(3)
    assert status == "Approved" and len(description) == 1024


def test_reject_without_a_reason_records_which_verb_decided(registry: object) -> None:
    assert run(["reject", "2"]) == 0
    assert status_of(2) == ("Rejected", "rejected with `mlops reject`")
    assert status_of(1)[0] == "Approved"


def test_rejecting_the_serving_version_makes_the_previous_approved_one_the_rollout_target(registry: object) -> None:
    spec = ServingSpec.from_settings(SETTINGS, "arn:aws:iam::123456789012:role/x")
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    assert plan_rollout(sagemaker, GROUP, spec).target_version == 2
    assert run(["reject", "2", "--reason", "bad answers for new customers"]) == 0
    assert plan_rollout(sagemaker, GROUP, spec).target_version == 1
    # A pending version is never a target, however new.
    assert status_of(3)[0] == "PendingManualApproval"


def test_an_unknown_version_is_one_line_naming_the_versions_there_are(
    registry: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["approve", "7"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"mlops approve: error: version 7 is not in model package group {GROUP} (versions 1-3)\n"


def test_the_project_option_picks_another_group(registry: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["reject", "1", "--project", "other-project"]) == 2
    assert "version 1 is not in model package group other-project-models (no versions)" in capsys.readouterr().err


def test_the_group_comes_from_cdk_json(registry: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"project_name": "churn-team"}}))
    assert run(["approve", "1"]) == 2
    assert "model package group churn-team-models" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["approve", "0"], ["approve", "two"], ["reject"], ["reject", "1", "--bogus"]])
def test_a_bad_version_argument_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: " in err


def test_no_region_is_one_line_and_nothing_is_called(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.chdir(tmp_path)
    assert run(["approve", "1", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == (
        "mlops approve: error: no AWS region; pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)\n"
    )


def test_a_refused_call_is_one_line_with_the_aws_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.chdir(tmp_path)
    # Nothing listens on port 9: botocore cannot connect, and the verb says so in one line.
    assert run(["reject", "1", "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mlops reject: error: Could not connect")
