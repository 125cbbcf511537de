"""Custom resource `Custom::ApprovedModelPackage`: the approved version the endpoint should serve.

The endpoint stack needs the ARN of the model version the registry stack just approved. An
export would block the next training run (an imported export cannot change), and an SSM
parameter type needs `ssm:GetParameters` that the default CDK deploy role does not have. So the
endpoint stack looks the version up by stable names known at synth time: the group and the
training job (whose name is a hash of data, code and hyperparameters). When the job or the
serving release changes, the properties change, CloudFormation calls Update, and the answer is
the new version; otherwise nothing happens.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3

from mlops_core.model_registry import approved_versions
from mlops_stacks.handlers.cfn_response import respond

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

RESOURCE_TYPE = "Custom::ApprovedModelPackage"


class NoApprovedVersion(LookupError):
    """The group holds no approved version trained by the named job."""


def approved_version(sagemaker: Any, group: str, training_job: str) -> dict[str, Any]:
    """The newest approved version of `group` registered for `training_job`."""
    for summary in approved_versions(sagemaker, group):
        package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if package.get("CustomerMetadataProperties", {}).get("training_job") == training_job:
            return package
    raise NoApprovedVersion(
        f"model package group {group} has no Approved version trained by job {training_job}: "
        "the registry stack registers one when the job succeeds and the quality gate approves it"
    )


def handle(event: dict[str, Any], sagemaker: Any) -> tuple[str, dict[str, str]]:
    """The physical ID and the attributes for the event; Delete owns nothing and does nothing."""
    if event["RequestType"] == "Delete":
        return event["PhysicalResourceId"], {}
    properties = event["ResourceProperties"]
    package = approved_version(sagemaker, properties["ModelPackageGroupName"], properties["TrainingJobName"])
    arn = package["ModelPackageArn"]
    logger.info("serving %s (version %s)", arn, package.get("ModelPackageVersion"))
    return arn, {"ModelPackageArn": arn, "ModelDataUrl": _model_data_url(package)}


def _model_data_url(package: dict[str, Any]) -> str:
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    return containers[0].get("ModelDataUrl", "") if containers else ""


def handler(event: dict[str, Any], context: object, client: Any = None) -> None:
    """Lambda entry point: always answers CloudFormation, with the error as the reason on failure."""
    physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    try:
        physical_id, data = handle(event, client or boto3.client("sagemaker"))
    except Exception as error:
        logger.exception("lookup failed")
        respond(event, "FAILED", physical_id, f"{type(error).__name__}: {error}")
        return
    respond(event, "SUCCESS", physical_id, data=data)
