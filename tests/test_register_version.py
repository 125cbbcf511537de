"""The registration step on moto: a finished job's model registered once, Approved, pending or Rejected.

moto's training jobs are Completed at once and write no artifact: each test writes model.tar.gz
where SageMaker would, `<OutputPath>/<job>/output/model.tar.gz`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops_core import naming
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_core.sagemaker_inputs import (
    serving_environment,
    training_hyperparameters,
    training_job_request,
    with_model_id,
)
from mlops_core.settings import Settings
from mlops_stacks.handlers.register_version import handler
from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from mlops_stacks.handlers.training_run.errors import PropertyError, TrainingRunError
from mlops_stacks.handlers.training_run.registration import (
    PACKAGE_POLL_SECONDS,
    PACKAGE_WAIT_SECONDS,
    RegistrationConfig,
    register_job_model,
)
from mlops_stacks.handlers.training_run.versions import TRAINING_RUN_KEY, registration_key
from model_code.metric_definitions import METRIC_DEFINITIONS
from tests.aws_fixtures import checked_boto3, moto_update_model_package_as_documented
from tests.model_fixtures import archive_bytes

REGION = "us-east-1"
SETTINGS = Settings()
BUCKET = f"mlops-showcase-data-{DEFAULT_ACCOUNT_ID}-{REGION}"
CODE = f"s3://{BUCKET}/code/0a1b2c3d/sourcedir.tar.gz"
EXECUTION = f"arn:aws:states:{REGION}:{DEFAULT_ACCOUNT_ID}:execution:mlops-showcase-training:run-1"
JOB = naming.pipeline_job_name(SETTINGS.project_name, EXECUTION)
CONFIG = RegistrationConfig(
    group=SETTINGS.model_package_group_name,
    image=naming.xgboost_image_uri(REGION),
    serving_environment=serving_environment(SETTINGS, CODE, REGION),
    min_validation_auc=SETTINGS.min_validation_auc,
    approval_mode="automatic",
    artifact_bucket=BUCKET,
)
BASELINE = {
    "version": 1,
    "n_rows": 100,
    "model_id": JOB,
    "features": [
        {
            "name": "tenure",
            "edges": [1.0],
            "shares": [0.5, 0.5],
            "mean": 1,
            "std": 1,
            "min": 0,
            "max": 2,
            "range": [0, 2],
        }
    ],
    "score": {
        "name": "score",
        "edges": [0.5],
        "shares": [0.5, 0.5],
        "mean": 0.5,
        "std": 0.2,
        "min": 0,
        "max": 1,
        "range": [0, 1],
    },
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), moto_update_model_package_as_documented(), checked_boto3():
        sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker.create_model_package_group(ModelPackageGroupName=CONFIG.group)
        yield sagemaker, s3


def evaluation_bytes(auc: float) -> bytes:
    return json.dumps({"validation": {"auc": auc}}).encode()


def finish_job(sagemaker: Any, s3: Any, job_name: str = JOB, *, auc: float = 0.91, baseline: Any = None) -> None:
    """The Train state's request on moto, and the artifact SageMaker would upload."""
    sagemaker.create_training_job(
        **training_job_request(
            SETTINGS,
            job_name=job_name,
            role_arn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/execution",
            image=CONFIG.image,
            hyperparameters=training_hyperparameters(SETTINGS, CODE, REGION),
            metric_definitions=METRIC_DEFINITIONS,
            train_uri=f"s3://{BUCKET}/data/0a1b/train/",
            validation_uri=f"s3://{BUCKET}/data/0a1b/validation/",
            output_path=f"s3://{BUCKET}/models",
        )
    )
    files = {
        "evaluation.json": evaluation_bytes(auc),
        "baseline.json": json.dumps(BASELINE if baseline is None else baseline).encode(),
    }
    s3.put_object(Bucket=BUCKET, Key=f"models/{job_name}/output/model.tar.gz", Body=archive_bytes(files))


def test_a_model_that_passes_the_gate_is_registered_approved_with_its_model_id(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3)
    version = register_job_model(sagemaker, s3, CONFIG, JOB, training_run="0a1b2c3d4e5f6a7b")
    assert (version.version, version.status, version.gate_status) == (1, APPROVED, APPROVED)
    assert version.as_output()["validation_auc"] == 0.91
    package = sagemaker.describe_model_package(ModelPackageName=version.arn)
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["Environment"]["MLOPS_MODEL_ID"] == JOB
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/models/{JOB}/output/model.tar.gz"
    assert package["CustomerMetadataProperties"][TRAINING_RUN_KEY] == "0a1b2c3d4e5f6a7b"
    baseline = s3.get_object(Bucket=BUCKET, Key=f"registry/{JOB}/baseline.json")["Body"].read()
    assert json.loads(baseline)["model_id"] == JOB


def test_manual_mode_registers_a_model_that_passes_as_pending_a_persons_decision(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3)
    version = register_job_model(sagemaker, s3, replace(CONFIG, approval_mode="manual"), JOB)
    assert (version.status, version.gate_status) == (PENDING_MANUAL_APPROVAL, APPROVED)
    assert version.reason.startswith("validation AUC 0.9100 >= 0.7500")


@pytest.mark.parametrize("mode", ["automatic", "manual"])
def test_a_model_below_the_gate_is_rejected_in_either_mode(aws: tuple[Any, Any], mode: str) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3, auc=0.6)
    version = register_job_model(sagemaker, s3, replace(CONFIG, approval_mode=mode), JOB)
    assert version.status == REJECTED
    assert version.reason == "validation AUC 0.6000 < 0.7500 (quality gate)"


def test_the_version_carries_its_metrics_baseline_and_metadata_and_the_registry_keeps_copies(
    aws: tuple[Any, Any],
) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3, auc=0.912)
    version = register_job_model(sagemaker, s3, CONFIG, JOB)
    package = sagemaker.describe_model_package(ModelPackageName=version.arn)
    evaluation_uri = f"s3://{BUCKET}/registry/{JOB}/evaluation.json"
    baseline_uri = f"s3://{BUCKET}/registry/{JOB}/baseline.json"
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert (statistics["S3Uri"], statistics["ContentType"]) == (evaluation_uri, "application/json")
    baseline = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert (baseline["S3Uri"], baseline["ContentType"]) == (baseline_uri, "application/json")
    specification = package["InferenceSpecification"]
    assert specification["Containers"][0]["Image"] == CONFIG.image
    assert specification["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert specification["SupportedResponseMIMETypes"] == ["application/json", "text/csv"]
    metadata = package["CustomerMetadataProperties"]
    environment = with_model_id(CONFIG.serving_environment, JOB)
    assert (metadata["training_job"], metadata["validation_auc"]) == (JOB, "0.912")
    assert metadata["gate_reason"].startswith("validation AUC 0.9120 ")
    assert metadata["registration_key"] == registration_key(JOB, environment, CONFIG.min_validation_auc)
    # CustomerMetadataProperties' pattern: letters, separators, digits and `_.:/=+-@` (API model).
    alphabet_ok = all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for v in metadata.values() for c in v)
    assert alphabet_ok and all(len(value) <= 256 for value in metadata.values())
    # The registry's copy of evaluation.json is byte for byte the file the training job wrote.
    copied = s3.get_object(Bucket=BUCKET, Key=f"registry/{JOB}/evaluation.json")
    assert copied["Body"].read() == evaluation_bytes(0.912)
    assert copied["ContentType"] == "application/json"


@pytest.mark.parametrize("auc", [0.91, 0.6])
def test_a_retried_registration_finds_its_version_instead_of_registering_another(
    aws: tuple[Any, Any], auc: float
) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3, auc=auc)
    first = register_job_model(sagemaker, s3, CONFIG, JOB)
    again = register_job_model(sagemaker, s3, CONFIG, JOB)
    assert again == first
    listed = sagemaker.list_model_packages(ModelPackageGroupName=CONFIG.group, ModelPackageType="Versioned")
    assert len(listed["ModelPackageSummaryList"]) == 1


def test_a_changed_serving_environment_registers_a_new_version_of_the_same_job(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3)
    first = register_job_model(sagemaker, s3, CONFIG, JOB)
    environment = {**CONFIG.serving_environment, "MLOPS_CAPTURE_PERCENT": "10"}
    second = register_job_model(sagemaker, s3, replace(CONFIG, serving_environment=environment), JOB)
    assert (first.version, second.version) == (1, 2)
    (container,) = sagemaker.describe_model_package(ModelPackageName=second.arn)["InferenceSpecification"]["Containers"]
    assert container["Environment"]["MLOPS_CAPTURE_PERCENT"] == "10"


def test_a_version_sagemaker_is_still_validating_is_waited_for_within_a_limit(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3)
    first = register_job_model(sagemaker, s3, CONFIG, JOB)
    package = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].model_packages[first.arn]
    package.model_package_status = "InProgress"
    waits: list[float] = []

    def validated_after_two_polls(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            package.model_package_status = "Completed"

    assert register_job_model(sagemaker, s3, CONFIG, JOB, sleep=validated_after_two_polls) == first
    assert waits == [PACKAGE_POLL_SECONDS] * 2
    package.model_package_status = "InProgress"
    with pytest.raises(TrainingRunError, match=rf"still InProgress after {PACKAGE_WAIT_SECONDS} s"):
        register_job_model(sagemaker, s3, CONFIG, JOB, sleep=lambda _: None)


def test_a_decision_made_in_the_registry_since_wins_over_the_gates(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3)
    first = register_job_model(sagemaker, s3, replace(CONFIG, approval_mode="manual"), JOB)
    sagemaker.update_model_package(ModelPackageArn=first.arn, ModelApprovalStatus=REJECTED)
    again = register_job_model(sagemaker, s3, replace(CONFIG, approval_mode="manual"), JOB)
    assert (again.status, again.reason) == (REJECTED, "its status was set to Rejected in the registry")


def test_a_baseline_the_drift_job_could_not_read_fails_before_anything_is_registered(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    finish_job(sagemaker, s3, baseline={**BASELINE, "n_rows": 0})
    with pytest.raises(TrainingRunError, match="n_rows"):
        register_job_model(sagemaker, s3, CONFIG, JOB)
    listed = sagemaker.list_model_packages(ModelPackageGroupName=CONFIG.group, ModelPackageType="Versioned")
    assert listed["ModelPackageSummaryList"] == []


def test_a_job_that_does_not_exist_is_named(aws: tuple[Any, Any]) -> None:
    sagemaker, s3 = aws
    with pytest.raises(TrainingRunError, match=f"training job {JOB}-x does not exist"):
        register_job_model(sagemaker, s3, CONFIG, f"{JOB}-x")


def test_the_config_is_read_from_the_lambdas_environment_naming_a_bad_variable() -> None:
    env = {
        "MODEL_PACKAGE_GROUP": CONFIG.group,
        "TRAINING_IMAGE": CONFIG.image,
        "SERVING_ENVIRONMENT": json.dumps(dict(CONFIG.serving_environment)),
        "MIN_VALIDATION_AUC": "0.75",
        "APPROVAL_MODE": "automatic",
        "ARTIFACT_BUCKET": BUCKET,
    }
    assert RegistrationConfig.from_env(env) == CONFIG
    for name, value in (("APPROVAL_MODE", "sometimes"), ("MIN_VALIDATION_AUC", "high"), ("SERVING_ENVIRONMENT", "[")):
        with pytest.raises(PropertyError, match=name):
            RegistrationConfig.from_env({**env, name: value})
    with pytest.raises(PropertyError, match="ARTIFACT_BUCKET is required"):
        RegistrationConfig.from_env({k: v for k, v in env.items() if k != "ARTIFACT_BUCKET"})


def test_the_pipelines_job_name_is_the_project_and_the_md5_of_the_execution() -> None:
    assert "mlops-showcase-" + __import__("hashlib").md5(EXECUTION.encode()).hexdigest() == JOB
    assert len(naming.pipeline_job_name("a" * 20, EXECUTION)) <= 63


# --- the RegisterVersion Lambda: the environment the stack gives it, the state the pipeline passes ---


def lambda_environment(mode: str) -> dict[str, str]:
    return {
        "MODEL_PACKAGE_GROUP": CONFIG.group,
        "TRAINING_IMAGE": CONFIG.image,
        "SERVING_ENVIRONMENT": json.dumps(dict(CONFIG.serving_environment)),
        "MIN_VALIDATION_AUC": repr(CONFIG.min_validation_auc),
        "APPROVAL_MODE": mode,
        "ARTIFACT_BUCKET": BUCKET,
        "ARTIFACT_PREFIX": naming.REGISTRY_PREFIX,
    }


@pytest.mark.parametrize(
    ("mode", "auc", "status"),
    [("automatic", 0.91, APPROVED), ("manual", 0.91, PENDING_MANUAL_APPROVAL), ("manual", 0.6, REJECTED)],
)
def test_the_lambda_registers_the_jobs_model_with_the_status_the_next_state_reads(
    aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, mode: str, auc: float, status: str
) -> None:
    sagemaker, s3 = aws
    for name, value in lambda_environment(mode).items():
        monkeypatch.setenv(name, value)
    finish_job(sagemaker, s3, auc=auc)
    clients = TrainingRunClients(sagemaker=sagemaker, s3=s3)
    state = {"job_name": JOB, "training_run": "served-0a1b2c3d"}

    output = handler(state, None, clients)
    assert output["status"] == status and output["version"] == 1
    assert json.loads(json.dumps(output)) == output  # the state machine takes JSON only
    package = sagemaker.describe_model_package(ModelPackageName=output["arn"])
    assert package["ModelApprovalStatus"] == status
    assert package["CustomerMetadataProperties"][TRAINING_RUN_KEY] == "served-0a1b2c3d"

    # Lambda retries a failed invocation, and the state's Retry may run it again: still one version.
    assert handler(state, None, clients) == output
    listed = sagemaker.list_model_packages(ModelPackageGroupName=CONFIG.group, ModelPackageType="Versioned")
    assert [summary["ModelPackageArn"] for summary in listed["ModelPackageSummaryList"]] == [output["arn"]]
