"""What a TrainingRun does, with boto3 clients passed in: start and stop jobs, read and register.

The Lambda shell (`training_run.py`) maps CloudFormation events onto these functions; tests call
them against moto. Every function is idempotent, because the Provider framework retries and
CloudFormation replays old properties on rollback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tarfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found, split_s3_uri
from mlops_core.model_registry import VERSIONED
from mlops_core.quality_gate import APPROVED, GateDecision, validation_auc
from monitoring.baseline import BASELINE_FILE, Baseline, BaselineError, baseline_from_bytes

logger = logging.getLogger(__name__)

# CreateTrainingJob.TrainingJobName (API service model).
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# CreateLogGroup.logGroupName (API service model).
LOG_GROUP_PATTERN = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})
# Files of model.tar.gz that the registry needs (docs/contracts.md, "Training"); the other is BASELINE_FILE.
EVALUATION_FILE = "evaluation.json"
# Both are a few kB; the cap protects the Lambda's memory from a malformed artifact.
MAX_REGISTRY_FILE_BYTES = 8 * 1024 * 1024
SUPPORTED_CONTENT_TYPES = ["text/csv", "application/json"]
SUPPORTED_RESPONSE_MIME_TYPES = ["application/json", "text/csv"]
# CustomerMetadataProperties values: at most 256 of letters, separators, digits and `_.:/=+-@`.
METADATA_VALUE_MAX = 256
_METADATA_PUNCTUATION = frozenset("_.:/=+-@")
# A gate reason reads "AUC 0.71 < 0.75"; the metadata alphabet has no comparison signs.
_COMPARISONS = ((">=", " at least "), ("<=", " at most "), (">", " above "), ("<", " below "))
# ModelPackageDescription: no control characters, at most 1024.
DESCRIPTION_MAX = 1024
# A package of this run cannot be older than its job; the margin absorbs clock skew between services.
_CLOCK_SKEW = timedelta(minutes=5)


class TrainingRunError(RuntimeError):
    """The run cannot succeed as configured; the message says what happened and what to do."""


class PropertyError(ValueError):
    """A resource property is missing or malformed; the message names it."""


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
        value = int(text)
    except ValueError:
        raise PropertyError(f"resource property `{name}` must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise PropertyError(f"resource property `{name}` must be within {low}..{high}, got {value}")
    return value


def _number(raw: Mapping[str, Any], name: str) -> float:
    text = _text(raw, name)
    try:
        return float(text)
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


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """SageMaker's Tags shape from a plain mapping."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "text/csv",
        "CompressionType": "None",
    }


def training_job_request(props: TrainingRunProperties) -> dict[str, Any]:
    """Build the CreateTrainingJob request of a script-mode run in the XGBoost framework container."""
    return {
        "TrainingJobName": props.job_name,
        "RoleArn": props.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": props.training_image,
            "TrainingInputMode": "File",
            "MetricDefinitions": props.metric_definitions,
        },
        "HyperParameters": props.hyperparameters,
        "InputDataConfig": [
            _channel("train", props.train_channel_uri),
            _channel("validation", props.validation_channel_uri),
        ],
        "OutputDataConfig": {"S3OutputPath": props.output_path},
        "ResourceConfig": {
            "InstanceType": props.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": props.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": props.max_runtime_seconds},
        "Tags": tag_list(props.tags),
    }


def describe_job(sagemaker: Any, job_name: str) -> dict[str, Any] | None:
    """DescribeTrainingJob, or None when no job has that name."""
    try:
        return sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


def job_output_path(job: Mapping[str, Any]) -> str:
    """Read the S3 output path of a described job, without a trailing slash."""
    return str(job.get("OutputDataConfig", {}).get("S3OutputPath", "")).rstrip("/")


def start_training_job(sagemaker: Any, props: TrainingRunProperties) -> tuple[dict[str, Any], bool]:
    """Start the job unless one with its name exists; return its description and whether we started it.

    Job names are unique per account and region, so a retried create or a rollback to old
    properties finds the existing job (CreateTrainingJob answers ResourceInUse) and never
    starts a duplicate.
    """
    started = True
    try:
        sagemaker.create_training_job(**training_job_request(props))
    except ClientError as err:
        error = err.response.get("Error", {})
        message = str(error.get("Message", ""))
        if error.get("Code") != "ResourceInUse" and "already exists" not in message:
            raise
        started = False
    job = describe_job(sagemaker, props.job_name)
    if job is None:
        raise TrainingRunError(f"training job {props.job_name} was created but DescribeTrainingJob cannot find it")
    output = job_output_path(job)
    if not started and output != props.output_path:
        raise TrainingRunError(
            f"a training job named {props.job_name} already exists but writes to {output}, not "
            f"{props.output_path}: the job name is not unique to this deployment; give each "
            "deployment its own project name"
        )
    return job, started


def stop_job(sagemaker: Any, job_name: str) -> bool:
    """Ask SageMaker to stop a job; False when it is gone or already finished (nothing to stop)."""
    try:
        sagemaker.stop_training_job(TrainingJobName=job_name)
    except ClientError as err:
        message = str(err.response.get("Error", {}).get("Message", ""))
        # "The request was rejected because the training job is in status Stopped."
        if is_not_found(err) or "is in status" in message:
            logger.info("nothing to stop for %s: %s", job_name, message)
            return False
        raise
    logger.info("asked SageMaker to stop training job %s", job_name)
    return True


def project_jobs_in_progress(sagemaker: Any, prefix: str, output_path: str) -> list[str]:
    """In-progress jobs of this deployment: names starting with `prefix` that write to `output_path`.

    The output path (our bucket) tells this deployment's jobs apart from another stage's jobs
    that happen to share the prefix.
    """
    names: list[str] = []
    for page in sagemaker.get_paginator("list_training_jobs").paginate(
        NameContains=prefix[:63], StatusEquals="InProgress"
    ):
        names.extend(
            s["TrainingJobName"] for s in page["TrainingJobSummaries"] if s["TrainingJobName"].startswith(prefix)
        )
    ours = []
    for name in names:
        job = describe_job(sagemaker, name)
        if job and job_output_path(job) == output_path.rstrip("/"):
            ours.append(name)
    return sorted(ours)


def _bucket_and_key(uri: str) -> tuple[str, str]:
    try:
        return split_s3_uri(uri)
    except ValueError as err:
        raise TrainingRunError(str(err)) from None


def artifact_exists(s3: Any, uri: str) -> bool:
    """Tell whether the model artifact is in S3 (HeadObject)."""
    bucket, key = _bucket_and_key(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if is_not_found(err):
            return False
        code = err.response.get("Error", {}).get("Code")
        if code in {"403", "AccessDenied"}:
            raise TrainingRunError(
                f"cannot read {uri}: access denied (the handler needs s3:GetObject on the object and "
                "s3:ListBucket on the bucket)"
            ) from err
        raise
    return True


@dataclass(frozen=True)
class RegistryFiles:
    """evaluation.json and baseline.json as found in model.tar.gz, byte for byte; `source` names the archive."""

    evaluation: bytes
    baseline: bytes
    source: str = "model.tar.gz"

    def evaluation_json(self) -> dict[str, Any]:
        """Parse evaluation.json (docs/contracts.md)."""
        return _parse_object(self.evaluation, EVALUATION_FILE)

    def baseline_json(self) -> Baseline:
        """Parse baseline.json and check it against docs/contracts.md, as the drift job will read it.

        Registering a baseline the drift job cannot use would fail hours later, far from the cause;
        here it fails the deploy with the feature and field that are wrong.
        """
        try:
            return baseline_from_bytes(self.baseline, f"{BASELINE_FILE} of {self.source}")
        except BaselineError as err:
            raise TrainingRunError(
                f"{err}; train.py must write the drift baseline as docs/contracts.md describes"
            ) from None


def _parse_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TrainingRunError(f"{name} in model.tar.gz is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise TrainingRunError(f"{name} in model.tar.gz must hold a JSON object, got {type(value).__name__}")
    return value


def registry_files_from_tar(stream: Any, source: str) -> RegistryFiles:
    """Stream a model.tar.gz once and keep only the two registry files (the model is never buffered)."""
    wanted = {EVALUATION_FILE, BASELINE_FILE}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if name not in wanted or not member.isfile():
                    continue
                if member.size > MAX_REGISTRY_FILE_BYTES:
                    raise TrainingRunError(
                        f"{name} in {source} is {member.size} bytes; more than "
                        f"{MAX_REGISTRY_FILE_BYTES} is not a plausible evaluation or baseline"
                    )
                content = archive.extractfile(member)
                found[name] = content.read() if content else b""
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, EOFError, OSError) as err:
        raise TrainingRunError(f"{source} is not a readable tar.gz archive: {err}") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise TrainingRunError(
            f"{source} has no {' or '.join(missing)} at its root; train.py must write them to the model "
            "directory (docs/contracts.md, Training)"
        )
    return RegistryFiles(evaluation=found[EVALUATION_FILE], baseline=found[BASELINE_FILE], source=source)


def read_registry_files(s3: Any, model_data_url: str) -> RegistryFiles:
    """evaluation.json and baseline.json out of the model artifact in S3."""
    bucket, key = _bucket_and_key(model_data_url)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        return registry_files_from_tar(body, model_data_url)
    finally:
        body.close()


def publish_registry_files(s3: Any, props: TrainingRunProperties, files: RegistryFiles) -> None:
    """Copy both files next to the registry, where the model package's metrics point."""
    for uri, data in ((props.evaluation_uri, files.evaluation), (props.baseline_uri, files.baseline)):
        bucket, key = _bucket_and_key(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")


def registration_key(job_name: str, serving_environment: Mapping[str, str], min_validation_auc: float) -> str:
    """Identity of one registration: the same job, serving environment and gate register once."""
    identity = {
        "job": job_name,
        "environment": dict(sorted(serving_environment.items())),
        "min_validation_auc": repr(float(min_validation_auc)),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def metadata_value(text: str) -> str:
    """Rewrite text into the alphabet CustomerMetadataProperties accepts, at most 256 characters."""
    for sign, words in _COMPARISONS:
        text = text.replace(sign, words)
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or char in _METADATA_PUNCTUATION or unicodedata.category(char)[0] in {"L", "N"}
    )
    return " ".join(kept.split())[:METADATA_VALUE_MAX]


def description_text(text: str) -> str:
    """One line without control characters, at most 1024 characters (ModelPackageDescription)."""
    line = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in text).split())
    return truncate(line, DESCRIPTION_MAX)


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate_utf8(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-8 bytes (response limits count bytes, not characters)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


def model_package_request(
    props: TrainingRunProperties,
    *,
    model_data_url: str,
    files: RegistryFiles,
    decision: GateDecision,
    key: str,
) -> dict[str, Any]:
    """Build the CreateModelPackage request of one versioned package in the group."""
    auc = validation_auc(files.evaluation_json())
    return {
        "ModelPackageGroupName": props.model_package_group_name,
        "ModelPackageDescription": description_text(f"Training job {props.job_name}: {decision.reason}"),
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": props.training_image,
                    "ModelDataUrl": model_data_url,
                    "Environment": props.serving_environment,
                }
            ],
            "SupportedContentTypes": SUPPORTED_CONTENT_TYPES,
            "SupportedResponseMIMETypes": SUPPORTED_RESPONSE_MIME_TYPES,
        },
        "ModelApprovalStatus": decision.status,
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": props.evaluation_uri,
                    "ContentDigest": f"sha256:{hashlib.sha256(files.evaluation).hexdigest()}",
                }
            }
        },
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": props.baseline_uri,
                    "ContentDigest": f"sha256:{hashlib.sha256(files.baseline).hexdigest()}",
                }
            }
        },
        "CustomerMetadataProperties": {
            "training_job": props.job_name,
            "validation_auc": "none" if auc is None else repr(auc),
            "min_validation_auc": repr(props.min_validation_auc),
            "gate_status": decision.status,
            "gate_reason": metadata_value(decision.reason),
            "registration_key": key,
        },
        # No Tags: a version takes its group's tags, and SageMaker refuses tags next to a group name.
    }


def _model_package_summaries(sagemaker: Any, group: str) -> Iterator[dict[str, Any]]:
    """Every version in the group, newest first; nothing when the group does not exist."""
    paginator = sagemaker.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group, ModelPackageType=VERSIONED, SortBy="CreationTime", SortOrder="Descending"
    )
    try:
        for page in pages:
            yield from page["ModelPackageSummaryList"]
    except ClientError as err:
        if not is_not_found(err):
            raise


def find_registered_version(sagemaker: Any, group: str, key: str, since: datetime) -> dict[str, Any] | None:
    """Find the version registered with `key` among those created after the job (`since`).

    ListModelPackages does not return CustomerMetadataProperties, so each candidate is described;
    the time bound keeps that to the handful registered since this job started.
    """
    for summary in _model_package_summaries(sagemaker, group):
        if summary["CreationTime"] < since - _CLOCK_SKEW:
            break
        package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if package.get("CustomerMetadataProperties", {}).get("registration_key") == key:
            return package
    return None


def register_model_version(
    sagemaker: Any,
    props: TrainingRunProperties,
    *,
    model_data_url: str,
    files: RegistryFiles,
    decision: GateDecision,
    job_created: datetime,
) -> dict[str, Any]:
    """Register the job's model once (found again by its registration key) and describe the version.

    The registry is the source of truth for approval: when a person has since approved or
    rejected the version by hand, its current status wins over the gate's.
    """
    key = registration_key(props.job_name, props.serving_environment, props.min_validation_auc)
    existing = find_registered_version(sagemaker, props.model_package_group_name, key, job_created)
    if existing is not None:
        logger.info("version %s already registers %s", existing["ModelPackageArn"], props.job_name)
        return existing
    request = model_package_request(props, model_data_url=model_data_url, files=files, decision=decision, key=key)
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    logger.info("registered %s as %s (%s)", props.job_name, arn, decision.status)
    return sagemaker.describe_model_package(ModelPackageName=arn)


def is_approved(package: Mapping[str, Any]) -> bool:
    """Tell whether the version may be deployed."""
    return package.get("ModelApprovalStatus") == APPROVED


def delete_model_versions(sagemaker: Any, group: str) -> list[str]:
    """Ask SageMaker to delete every version in the group (they block the group's deletion); skip what is gone.

    DeleteModelPackage only starts the deletion: see `versions_left` for when it is done.
    """
    deleted = []
    for summary in list(_model_package_summaries(sagemaker, group)):
        arn = summary["ModelPackageArn"]
        try:
            sagemaker.delete_model_package(ModelPackageName=arn)
        except ClientError as err:
            if not is_not_found(err):
                raise
            continue
        deleted.append(arn)
    logger.info("deleted %d model package versions of %s", len(deleted), group)
    return deleted


def versions_left(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    """Summaries of the versions still listed in the group (Deleting ones included); none when it is gone.

    DeleteModelPackageGroup answers ConflictException while any version is listed, so Delete
    waits for this to be empty before CloudFormation deletes the group.
    """
    summaries: list[dict[str, Any]] = []
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelPackageType=VERSIONED
    )
    try:
        for page in pages:
            summaries.extend(page["ModelPackageSummaryList"])
    except ClientError as err:
        if not is_not_found(err):
            raise
    return summaries


@dataclass(frozen=True)
class LogCleanup:
    """What one pass over the training log group did: streams deleted, ours still left, others kept."""

    deleted: list[str]
    left: int
    kept: int


def training_log_streams(logs: Any, log_group: str, prefix: str) -> list[str]:
    """Names of the streams in `log_group` that start with `prefix`; none when the group does not exist."""
    names: list[str] = []
    pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=log_group, logStreamNamePrefix=prefix)
    try:
        for page in pages:
            names.extend(stream["logStreamName"] for stream in page.get("logStreams", []))
    except ClientError as err:
        if not is_not_found(err):
            raise
    return names


def delete_project_log_streams(
    logs: Any,
    sagemaker: Any,
    *,
    log_group: str,
    prefix: str,
    output_path: str,
    limit: int,
) -> LogCleanup:
    """Delete up to `limit` log streams of this deployment's training jobs from the shared log group.

    SageMaker names a job's streams `<job-name>/algo-1-<epoch>`. A stream counts as ours when its
    job's name starts with `prefix` and the job writes to `output_path`, the same test that tells
    this deployment's jobs from another stage's; a stream whose job cannot be described is kept.
    Streams are listed in full before any is deleted, so deleting cannot upset the pagination.
    """
    output_path = output_path.rstrip("/")
    ours: dict[str, bool] = {}
    streams: list[str] = []
    kept = 0
    for name in training_log_streams(logs, log_group, prefix):
        job_name = name.partition("/")[0]
        if job_name not in ours:
            job = describe_job(sagemaker, job_name) if JOB_NAME_PATTERN.match(job_name) else None
            ours[job_name] = bool(output_path) and job is not None and job_output_path(job) == output_path
        if ours[job_name]:
            streams.append(name)
        else:
            kept += 1
    deleted = []
    for name in streams[:limit]:
        try:
            logs.delete_log_stream(logGroupName=log_group, logStreamName=name)
        except ClientError as err:
            if not is_not_found(err):
                raise
            continue
        deleted.append(name)
    logger.info("deleted %d log streams of %s* from %s, kept %d", len(deleted), prefix, log_group, kept)
    return LogCleanup(deleted=deleted, left=max(len(streams) - limit, 0), kept=kept)
