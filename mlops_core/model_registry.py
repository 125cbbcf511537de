"""The model registry as every part reads it: versioned packages, and which package an endpoint serves."""

from __future__ import annotations

from typing import Any

# ListModelPackages lists only unversioned packages unless told otherwise (botocore ModelPackageType).
VERSIONED = "Versioned"


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
