"""Model package versions: register a job's model once, with the status the gate and the mode give; delete them."""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found
from mlops_core.model_registry import VERSIONED
from mlops_core.quality_gate import APPROVED, GateDecision, validation_auc
from mlops_stacks.handlers.training_run.artifacts import RegistryFiles
from mlops_stacks.handlers.training_run.errors import truncate

logger = logging.getLogger(__name__)

SUPPORTED_CONTENT_TYPES = ["text/csv", "application/json"]
SUPPORTED_RESPONSE_MIME_TYPES = ["application/json", "text/csv"]
# CustomerMetadataProperties values: at most 256 of letters, separators, digits and `_.:/=+-@`.
METADATA_VALUE_MAX = 256
_METADATA_PUNCTUATION = frozenset("_.:/=+-@")
# A gate reason reads "AUC 0.71 < 0.75"; the metadata alphabet has no comparison signs.
_COMPARISONS = ((">=", " at least "), ("<=", " at most "), (">", " above "), ("<", " below "))
# ModelPackageDescription: no control characters, at most 1024.
DESCRIPTION_MAX = 1024
# The metadata key naming the pipeline run that trained a version.
TRAINING_RUN_KEY = "training_run"
# A package of this run cannot be older than its job; the margin absorbs clock skew between services.
_CLOCK_SKEW = timedelta(minutes=5)


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


@dataclass(frozen=True)
class VersionRequest:
    """One job's model to register: where it is, how it serves, what the gate said, and the status to give it."""

    group: str
    job_name: str
    image: str
    model_data_url: str
    serving_environment: Mapping[str, str]
    min_validation_auc: float
    evaluation_uri: str
    baseline_uri: str
    decision: GateDecision
    status: str
    # The pipeline run that trained it (the deploy's run id, or the execution's name): lineage, and
    # how a deploy finds the version its own training run registered.
    training_run: str = ""


def model_package_request(request: VersionRequest, files: RegistryFiles, key: str) -> dict[str, Any]:
    """Build the CreateModelPackage request of one versioned package in the group."""
    auc = validation_auc(files.evaluation_json())
    decision = request.decision
    return {
        "ModelPackageGroupName": request.group,
        "ModelPackageDescription": description_text(f"Training job {request.job_name}: {decision.reason}"),
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": request.image,
                    "ModelDataUrl": request.model_data_url,
                    "Environment": dict(request.serving_environment),
                }
            ],
            "SupportedContentTypes": SUPPORTED_CONTENT_TYPES,
            "SupportedResponseMIMETypes": SUPPORTED_RESPONSE_MIME_TYPES,
        },
        "ModelApprovalStatus": request.status,
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": request.evaluation_uri,
                    "ContentDigest": f"sha256:{hashlib.sha256(files.evaluation).hexdigest()}",
                }
            }
        },
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": request.baseline_uri,
                    "ContentDigest": f"sha256:{hashlib.sha256(files.baseline).hexdigest()}",
                }
            }
        },
        "CustomerMetadataProperties": {
            "training_job": request.job_name,
            "validation_auc": "none" if auc is None else repr(auc),
            "min_validation_auc": repr(request.min_validation_auc),
            "gate_status": decision.status,
            "gate_reason": metadata_value(decision.reason),
            "registration_key": key,
            **({TRAINING_RUN_KEY: metadata_value(request.training_run)} if request.training_run else {}),
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
    sagemaker: Any, request: VersionRequest, files: RegistryFiles, *, job_created: datetime
) -> dict[str, Any]:
    """Register the job's model once (found again by its registration key) and describe the version.

    The registry is the source of truth for approval: when a person has since approved or
    rejected the version by hand, its current status wins over the gate's.
    """
    key = registration_key(request.job_name, request.serving_environment, request.min_validation_auc)
    existing = find_registered_version(sagemaker, request.group, key, job_created)
    if existing is not None:
        logger.info("version %s already registers %s", existing["ModelPackageArn"], request.job_name)
        return existing
    arn = sagemaker.create_model_package(**model_package_request(request, files, key))["ModelPackageArn"]
    logger.info("registered %s as %s (%s)", request.job_name, arn, request.status)
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
