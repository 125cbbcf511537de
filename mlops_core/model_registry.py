"""The model registry as every part reads it: versioned packages, and which package an endpoint serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlops_core.quality_gate import APPROVED

# ListModelPackages lists only unversioned packages unless told otherwise (botocore ModelPackageType).
VERSIONED = "Versioned"


def approved_versions(sagemaker: Any, group: str) -> Iterator[dict[str, Any]]:
    """Summaries of the group's approved versions, newest first, page after page (ListModelPackages)."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group,
        ModelApprovalStatus=APPROVED,
        ModelPackageType=VERSIONED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    for page in pages:
        yield from page.get("ModelPackageSummaryList", [])


def served_model_package(sagemaker: Any, endpoint_config: str) -> str | None:
    """The model package ARN behind an endpoint config's first variant, if its model came from one.

    Endpoint config → model (first variant) → the container's ModelPackageName: the drift job
    finds its baseline this way, and the health report the version being served.
    """
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint_config).get("ProductionVariants") or []
    if not variants:
        return None
    model = sagemaker.describe_model(ModelName=variants[0]["ModelName"])
    containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
    return next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
