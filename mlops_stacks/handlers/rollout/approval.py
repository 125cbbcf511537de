"""Approval of model versions: a person's decision (`mlops approve N` / `mlops reject N`), and the newest approved.

A decision is one UpdateModelPackage call with ModelApprovalStatus and ApprovalDescription; the
console and the AWS CLI make the same call. SageMaker then sends a "SageMaker Model Package State
Change" event, which starts the deployment pipeline (docs/pipeline.md).
"""

from __future__ import annotations

from typing import Any

from mlops_core.model_registry import VERSIONED, approved_versions
from mlops_core.quality_gate import APPROVED, REJECTED
from mlops_stacks.handlers.training_run.versions import TRAINING_RUN_KEY, description_text

DECISIONS = (APPROVED, REJECTED)
# How far back a deploy looks for the version its own training run registered (newest first).
RUN_LOOKBACK_VERSIONS = 50


class UnknownVersion(LookupError):
    """The group has no version with that number; the message says which it has."""


def newest_approved_version(sagemaker: Any, group: str) -> dict[str, Any] | None:
    """The summary of the group's newest Approved version (what the endpoint should serve), or None."""
    return next(approved_versions(sagemaker, group), None)


def version_numbers(sagemaker: Any, group: str) -> dict[int, str]:
    """Every version of the group, whatever its status: number → ARN."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelPackageType=VERSIONED
    )
    return {
        int(summary["ModelPackageVersion"]): summary["ModelPackageArn"]
        for page in pages
        for summary in page.get("ModelPackageSummaryList", [])
    }


def approval_request(arn: str, status: str, reason: str) -> dict[str, str]:
    """The UpdateModelPackage request that records a decision and why (ApprovalDescription: one line, ≤ 1024)."""
    if status not in DECISIONS:
        raise ValueError(f"a decision is {' or '.join(DECISIONS)}, got {status!r}")
    return {"ModelPackageArn": arn, "ModelApprovalStatus": status, "ApprovalDescription": description_text(reason)}


def set_approval(sagemaker: Any, group: str, version: int, status: str, reason: str) -> dict[str, str]:
    """Approve or reject version `version` of `group`; UnknownVersion, in one line, when there is none.

    Returns the request sent.
    """
    versions = version_numbers(sagemaker, group)
    if version not in versions:
        known = f"versions {min(versions)}-{max(versions)}" if versions else "no versions"
        raise UnknownVersion(f"version {version} is not in model package group {group} ({known})")
    request = approval_request(versions[version], status, reason)
    sagemaker.update_model_package(**request)
    return request


def version_of_run(sagemaker: Any, group: str, training_run: str) -> dict[str, Any] | None:
    """The version that training run `training_run` registered (its metadata says so), described; None if none."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelPackageType=VERSIONED, SortBy="CreationTime", SortOrder="Descending"
    )
    summaries = (summary for page in pages for summary in page.get("ModelPackageSummaryList", []))
    for _, summary in zip(range(RUN_LOOKBACK_VERSIONS), summaries, strict=False):
        package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if package.get("CustomerMetadataProperties", {}).get(TRAINING_RUN_KEY) == training_run:
            return package
    return None
