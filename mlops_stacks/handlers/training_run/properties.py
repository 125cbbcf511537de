"""The TrainingRun's resource properties, parsed from the strings CloudFormation passes, each checked by name."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_stacks.handlers.training_run.errors import PropertyError
from model_code.number_syntax import parse_number, parse_whole_number
from monitoring.baseline import BASELINE_FILE

# CreateTrainingJob.TrainingJobName (API service model).
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# CreateLogGroup.logGroupName (API service model).
LOG_GROUP_PATTERN = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
# Files of model.tar.gz that the registry needs (docs/contracts.md, "Training"); the other is BASELINE_FILE.
EVALUATION_FILE = "evaluation.json"


def physical_resource_id(group_name: str) -> str:
    """Name the resource stably: one TrainingRun per model package group."""
    return f"{group_name}-training-run"


@dataclass(frozen=True)
class TrainingRunProperties:
    """The custom resource's properties, parsed from the strings CloudFormation passes."""

    job_name: str
    role_arn: str
    training_image: str
    instance_type: str
    volume_size_gb: int
    max_runtime_seconds: int
    hyperparameters: dict[str, str]
    metric_definitions: list[dict[str, str]]
    train_channel_uri: str
    validation_channel_uri: str
    output_path: str
    model_package_group_name: str
    min_validation_auc: float
    serving_environment: dict[str, str]
    artifact_bucket: str
    artifact_prefix: str
    deadline_seconds: int
    tags: dict[str, str]
    job_name_prefix: str
    # Delete-only settings, validated here so that a bad template fails its create, not its destroy.
    retain_versions: bool = False
    training_log_group: str = ""

    @classmethod
    def from_resource_properties(cls, raw: Mapping[str, Any]) -> TrainingRunProperties:
        """Validate every property up front, so a bad template fails with the property's name."""
        job_name = _text(raw, "JobName")
        if not JOB_NAME_PATTERN.match(job_name):
            raise PropertyError(
                f"resource property `JobName` must be 1-63 letters, digits and hyphens, starting and "
                f"ending with a letter or digit, got {job_name!r}"
            )
        hyperparameters = _string_map(raw, "HyperParameters", limit=100)
        # The SDK sets it too; the container uses it for the training environment's job name.
        hyperparameters.setdefault("sagemaker_job_name", json.dumps(job_name))
        serving_environment = _string_map(raw, "ServingEnvironment", limit=100)
        model_id = serving_environment.setdefault("MLOPS_MODEL_ID", job_name)
        if model_id != job_name:
            raise PropertyError(
                f"resource property `ServingEnvironment` has MLOPS_MODEL_ID={model_id!r}, but the model "
                f"comes from training job {job_name!r}; they must be equal (docs/contracts.md)"
            )
        min_auc = _number(raw, "MinValidationAuc")
        if not 0.0 <= min_auc <= 1.0:
            raise PropertyError(f"resource property `MinValidationAuc` must be within 0..1, got {min_auc}")
        prefix = raw.get("JobNamePrefix") or default_job_name_prefix(job_name)
        if not job_name.startswith(prefix):
            raise PropertyError(f"resource property `JobNamePrefix` {prefix!r} is not a prefix of {job_name!r}")
        return cls(
            job_name=job_name,
            role_arn=_text(raw, "RoleArn"),
            training_image=_text(raw, "TrainingImage"),
            instance_type=_text(raw, "InstanceType", must_start="ml."),
            volume_size_gb=_integer(raw, "VolumeSizeGB", 1, 16384),
            # StoppingCondition.MaxRuntimeInSeconds: at most 28 days.
            max_runtime_seconds=_integer(raw, "MaxRuntimeSeconds", 1, 28 * 24 * 3600),
            hyperparameters=hyperparameters,
            metric_definitions=_metric_definitions(raw),
            train_channel_uri=_text(raw, "TrainChannelUri", must_start="s3://"),
            validation_channel_uri=_text(raw, "ValidationChannelUri", must_start="s3://"),
            output_path=_text(raw, "OutputPath", must_start="s3://").rstrip("/"),
            model_package_group_name=_text(raw, "ModelPackageGroupName"),
            min_validation_auc=min_auc,
            serving_environment=serving_environment,
            artifact_bucket=_text(raw, "ArtifactBucket"),
            artifact_prefix=_text(raw, "ArtifactPrefix").strip("/"),
            deadline_seconds=_integer(raw, "DeadlineSeconds", 1, 24 * 3600),
            tags=_string_map(raw, "Tags", limit=50),
            job_name_prefix=prefix,
            retain_versions=flag_property(raw, "RetainVersions", default=False),
            training_log_group=_log_group_name(raw, "TrainingLogGroup"),
        )

    @property
    def evaluation_uri(self) -> str:
        """Where the registry's copy of evaluation.json lives."""
        return f"s3://{self.artifact_bucket}/{self.artifact_prefix}/{self.job_name}/{EVALUATION_FILE}"

    @property
    def baseline_uri(self) -> str:
        """Where the registry's copy of baseline.json lives."""
        return f"s3://{self.artifact_bucket}/{self.artifact_prefix}/{self.job_name}/{BASELINE_FILE}"


def default_job_name_prefix(job_name: str) -> str:
    """Derive the project's job-name prefix: everything up to the last hyphen (`<project>-<hash>`)."""
    head, dash, _ = job_name.rpartition("-")
    return f"{head}-" if dash else job_name


def _text(raw: Mapping[str, Any], name: str, *, must_start: str = "") -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PropertyError(f"resource property `{name}` is required (a non-empty string), got {value!r}")
    if must_start and not value.startswith(must_start):
        raise PropertyError(f"resource property `{name}` must start with {must_start!r}, got {value!r}")
    return value


def flag_property(raw: Mapping[str, Any], name: str, *, default: bool) -> bool:
    """Read an optional "true"/"false" property (CloudFormation passes booleans as strings)."""
    value = raw.get(name)
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in {"true", "false"}:
        raise PropertyError(f"resource property `{name}` must be 'true' or 'false', got {value!r}")
    return text == "true"


def _log_group_name(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not LOG_GROUP_PATTERN.match(value):
        raise PropertyError(
            f"resource property `{name}` must be a log group name (1-512 letters, digits and ._-/#), got {value!r}"
        )
    return value


def _integer(raw: Mapping[str, Any], name: str, low: int, high: int) -> int:
    text = _text(raw, name)
    try:
        value = parse_whole_number(text)
    except ValueError:
        raise PropertyError(f"resource property `{name}` must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise PropertyError(f"resource property `{name}` must be within {low}..{high}, got {value}")
    return value


def _number(raw: Mapping[str, Any], name: str) -> float:
    text = _text(raw, name)
    try:
        return parse_number(text)
    except ValueError:
        raise PropertyError(f"resource property `{name}` must be a number, got {text!r}") from None


def _json(raw: Mapping[str, Any], name: str) -> Any:
    text = _text(raw, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PropertyError(f"resource property `{name}` is not valid JSON ({err.msg} at {err.pos})") from None


def _string_map(raw: Mapping[str, Any], name: str, *, limit: int) -> dict[str, str]:
    value = _json(raw, name)
    if not isinstance(value, dict):
        raise PropertyError(f"resource property `{name}` must be a JSON object, got {type(value).__name__}")
    if len(value) > limit:
        raise PropertyError(f"resource property `{name}` has {len(value)} entries; at most {limit} are allowed")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PropertyError(
                f"resource property `{name}`: the value of {key!r} must be a string, got {type(item).__name__}"
            )
    return dict(value)


def _metric_definitions(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    value = _json(raw, "MetricDefinitions")
    valid = isinstance(value, list) and all(
        isinstance(item, dict) and set(item) == {"Name", "Regex"} and all(isinstance(v, str) for v in item.values())
        for item in value
    )
    if not valid:
        raise PropertyError('resource property `MetricDefinitions` must be a JSON list of {"Name": …, "Regex": …}')
    if len(value) > 40:
        raise PropertyError(f"resource property `MetricDefinitions` has {len(value)} entries; at most 40 are allowed")
    return value
