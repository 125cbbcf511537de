"""What is deployed: the latest drift report, the endpoint and what it serves, the newest approved version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found, split_s3_uri
from mlops_core.model_registry import approved_versions, served_model_package
from mlops_core.quality_gate import APPROVED
from model_code.number_syntax import is_finite_number, number_problem
from monitoring.drift_report import latest_report_key
from monitoring.tools.health.targets import short_error

IN_SERVICE = "InService"
NOT_FOUND = "NotFound"


@dataclass(frozen=True)
class DriftSummary:
    """The latest drift report (docs/contracts.md) or why there is none."""

    uri: str
    report: dict[str, Any] | None
    written: datetime | None = None
    error: str | None = None


def latest_drift_report(s3: Any, bucket: str, endpoint: str) -> DriftSummary:
    """Read `reports/drift/<endpoint>/latest.json`; a missing report is a note, not an error."""
    key = latest_report_key(endpoint)
    uri = f"s3://{bucket}/{key}"
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return DriftSummary(uri, None, error="no drift report yet (the drift job has not written one)")
        return DriftSummary(uri, None, error=f"cannot read the drift report ({short_error(exc)})")
    try:
        report = json.loads(answer["Body"].read())
    except ValueError as exc:
        return DriftSummary(uri, None, error=f"the drift report is not valid JSON ({exc})")
    if not isinstance(report, dict) or "status" not in report:
        return DriftSummary(uri, None, error="the drift report is not a drift report object (no `status`)")
    return DriftSummary(uri, report, written=answer.get("LastModified"))


@dataclass(frozen=True)
class EndpointStatus:
    """The endpoint's state and the model package version it serves."""

    name: str
    status: str
    failure_reason: str | None = None
    last_modified: datetime | None = None
    served_package_arn: str | None = None


def endpoint_status(sagemaker: Any, endpoint: str) -> EndpointStatus:
    """DescribeEndpoint, then endpoint config → model → model package: what is being served."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if is_not_found(exc):
            return EndpointStatus(endpoint, NOT_FOUND)
        raise
    served = None
    try:
        served = served_model_package(sagemaker, described["EndpointConfigName"])
    except ClientError as exc:
        if not is_not_found(exc):
            raise
    return EndpointStatus(
        name=endpoint,
        status=described.get("EndpointStatus", "Unknown"),
        failure_reason=described.get("FailureReason"),
        last_modified=described.get("LastModifiedTime"),
        served_package_arn=served,
    )


@dataclass(frozen=True)
class RegistryVersion:
    """The newest approved model package version and its evaluation metrics."""

    group: str
    arn: str
    version: int | None
    approval: str
    created: datetime | None
    training_job: str | None
    metrics: dict[str, float]
    metrics_uri: str | None
    note: str | None = None


def newest_approved_version(sagemaker: Any, s3: Any, group: str) -> RegistryVersion | None:
    """The group's newest approved version, with `validation` metrics from its evaluation.json."""
    try:
        newest = next(approved_versions(sagemaker, group), None)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    if newest is None:
        return None
    package = sagemaker.describe_model_package(ModelPackageName=newest["ModelPackageArn"])
    metadata = package.get("CustomerMetadataProperties") or {}
    uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    metrics, note = _evaluation_metrics(s3, uri)
    auc = _finite_number(metadata.get("validation_auc"))
    if not metrics and auc is not None:
        metrics = {"auc": auc}
    return RegistryVersion(
        group=group,
        arn=package["ModelPackageArn"],
        version=package.get("ModelPackageVersion"),
        approval=package.get("ModelApprovalStatus", APPROVED),
        created=package.get("CreationTime"),
        training_job=metadata.get("training_job"),
        metrics=metrics,
        metrics_uri=uri,
        note=note,
    )


def _evaluation_metrics(s3: Any, uri: str | None) -> tuple[dict[str, float], str | None]:
    """`validation` numbers of evaluation.json at `uri` (docs/contracts.md), or why they are missing."""
    if not uri:
        return {}, "the version has no ModelQuality statistics"
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as exc:
        return {}, f"ModelQuality statistics URI: {exc}"
    try:
        evaluation = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        return {}, f"cannot read {uri} ({short_error(exc)})"
    except ValueError as exc:
        return {}, f"{uri} is not valid JSON ({exc})"
    validation = evaluation.get("validation") if isinstance(evaluation, dict) else None
    if not isinstance(validation, dict):
        return {}, f"{uri} has no `validation` object"
    return {key: number for key, value in validation.items() if (number := _finite_number(value)) is not None}, None


def _finite_number(value: Any) -> float | None:
    """A finite JSON number, or text in the project's number syntax (metadata values are text), as a float."""
    if isinstance(value, str):
        return None if number_problem(value) else float(value)
    return float(value) if is_finite_number(value) else None
