"""Register a finished training job's model behind the quality gate: the pipeline's registration step.

The RegisterVersion Lambda runs it once the Train state has succeeded, the local demo runs it on
moto. It reads evaluation.json and baseline.json out of the job's model.tar.gz (a baseline the
drift job could not read fails here, naming the field), copies both next to the registry, applies
the gate and registers one version: Approved (automatic approval mode), PendingManualApproval
(manual mode) or Rejected (the gate failed, either mode). A retried step finds its version again
instead of registering a second one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_core.naming import REGISTRY_PREFIX
from mlops_core.quality_gate import quality_gate, registered_status, validation_auc
from mlops_core.sagemaker_inputs import with_model_id
from mlops_core.settings import APPROVAL_MODES
from mlops_stacks.handlers.training_run.artifacts import publish_registry_files, read_registry_files
from mlops_stacks.handlers.training_run.errors import PropertyError, TrainingRunError, truncate
from mlops_stacks.handlers.training_run.jobs import describe_job
from mlops_stacks.handlers.training_run.properties import EVALUATION_FILE
from mlops_stacks.handlers.training_run.versions import VersionRequest, register_model_version
from model_code.number_syntax import parse_number
from monitoring.baseline import BASELINE_FILE

# A new version is validated within seconds; longer means SageMaker is stuck, not busy.
PACKAGE_WAIT_SECONDS = 120
PACKAGE_POLL_SECONDS = 2
# A version's ModelPackageStatusDetails, cut to keep the message short.
MAX_FAILURE_REASON_CHARS = 800


@dataclass(frozen=True)
class RegistrationConfig:
    """What registering needs besides the job: the same for every run of one deployment."""

    group: str
    image: str
    serving_environment: Mapping[str, str]
    min_validation_auc: float
    approval_mode: str
    artifact_bucket: str
    artifact_prefix: str = REGISTRY_PREFIX

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RegistrationConfig:
        """Read the RegisterVersion Lambda's environment, each variable checked by name."""

        def required(name: str) -> str:
            value = env.get(name, "")
            if not value:
                raise PropertyError(f"environment variable {name} is required")
            return value

        try:
            environment = json.loads(required("SERVING_ENVIRONMENT"))
        except json.JSONDecodeError as err:
            raise PropertyError(f"environment variable SERVING_ENVIRONMENT is not JSON ({err.msg})") from None
        if not isinstance(environment, dict) or not all(isinstance(v, str) for v in environment.values()):
            raise PropertyError("environment variable SERVING_ENVIRONMENT must be a JSON object of strings")
        try:
            min_auc = parse_number(required("MIN_VALIDATION_AUC"))
        except ValueError:
            raise PropertyError(
                f"environment variable MIN_VALIDATION_AUC is not a number: {env['MIN_VALIDATION_AUC']!r}"
            ) from None
        mode = required("APPROVAL_MODE")
        if mode not in APPROVAL_MODES:
            raise PropertyError(f"environment variable APPROVAL_MODE must be one of {APPROVAL_MODES}, got {mode!r}")
        return cls(
            group=required("MODEL_PACKAGE_GROUP"),
            image=required("TRAINING_IMAGE"),
            serving_environment=environment,
            min_validation_auc=min_auc,
            approval_mode=mode,
            artifact_bucket=required("ARTIFACT_BUCKET"),
            artifact_prefix=env.get("ARTIFACT_PREFIX") or REGISTRY_PREFIX,
        )

    def registry_uri(self, job_name: str, file_name: str) -> str:
        """Where the registry keeps its copy of one of the job's files."""
        return f"s3://{self.artifact_bucket}/{self.artifact_prefix}/{job_name}/{file_name}"


@dataclass(frozen=True)
class RegisteredVersion:
    """The version a job's model was registered as, in the shape the pipeline's next states read."""

    arn: str
    version: int
    status: str
    gate_status: str
    reason: str
    validation_auc: float | None

    def as_output(self) -> dict[str, Any]:
        """JSON for the state machine: `$.version.status` decides what happens next."""
        return {
            "arn": self.arn,
            "version": self.version,
            "status": self.status,
            "gate_status": self.gate_status,
            "reason": self.reason,
            "validation_auc": self.validation_auc,
        }


def register_job_model(
    sagemaker: Any,
    s3: Any,
    config: RegistrationConfig,
    job_name: str,
    *,
    training_run: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> RegisteredVersion:
    """Register the model of the completed job `job_name` once, with the status the gate and the mode give."""
    job = describe_job(sagemaker, job_name)
    if job is None:
        raise TrainingRunError(f"training job {job_name} does not exist")
    if job["TrainingJobStatus"] != "Completed":
        raise TrainingRunError(f"training job {job_name} is {job['TrainingJobStatus']}, not Completed")
    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    files = read_registry_files(s3, model_data_url)
    evaluation = files.evaluation_json()
    # The drift job reads this baseline hours later: a bad one fails the run now, naming the field.
    files.baseline_json()
    evaluation_uri = config.registry_uri(job_name, EVALUATION_FILE)
    baseline_uri = config.registry_uri(job_name, BASELINE_FILE)
    publish_registry_files(s3, evaluation_uri, baseline_uri, files)
    decision = quality_gate(evaluation, config.min_validation_auc)
    request = VersionRequest(
        group=config.group,
        job_name=job_name,
        image=config.image,
        model_data_url=model_data_url,
        serving_environment=with_model_id(config.serving_environment, job_name),
        min_validation_auc=config.min_validation_auc,
        evaluation_uri=evaluation_uri,
        baseline_uri=baseline_uri,
        decision=decision,
        status=registered_status(decision, config.approval_mode),
        training_run=training_run,
    )
    package = register_model_version(sagemaker, request, files, job_created=job["CreationTime"])
    package = _validated(sagemaker, package, sleep)
    status = str(package.get("ModelApprovalStatus"))
    stored_gate = package.get("CustomerMetadataProperties", {}).get("gate_status", decision.status)
    # The registry is the source of truth: a status a person set since then wins over the gate's.
    reason = decision.reason if status == request.status else f"its status was set to {status} in the registry"
    return RegisteredVersion(
        arn=package["ModelPackageArn"],
        version=int(package["ModelPackageVersion"]),
        status=status,
        gate_status=str(stored_gate),
        reason=reason,
        validation_auc=validation_auc(evaluation),
    )


def _validated(sagemaker: Any, package: dict[str, Any], sleep: Callable[[float], None]) -> dict[str, Any]:
    """Wait for SageMaker to validate a new version (seconds); a version that fails validation is an error."""
    arn = package["ModelPackageArn"]
    waited = 0.0
    while package.get("ModelPackageStatus", "Completed") not in {"Completed", "Failed"}:
        if waited >= PACKAGE_WAIT_SECONDS:
            raise TrainingRunError(
                f"model package {arn} is still {package.get('ModelPackageStatus')} after {PACKAGE_WAIT_SECONDS} s"
            )
        sleep(PACKAGE_POLL_SECONDS)
        waited += PACKAGE_POLL_SECONDS
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    if package.get("ModelPackageStatus") == "Failed":
        details = truncate(str(package.get("ModelPackageStatusDetails", "")), MAX_FAILURE_REASON_CHARS)
        raise TrainingRunError(f"model package {arn} failed validation: {details}")
    return package
