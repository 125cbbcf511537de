"""The registry and the endpoint as the rollout finds them, on moto: versions, a serving endpoint, guard alarms.

moto has no UpdateEndpoint and every endpoint it creates is InService at once; `serve` and
`set_endpoint_status` set in moto's backend what an update or time leaves behind in AWS.
"""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops_core.settings import Settings
from mlops_stacks.handlers.rollout import ServingSpec, create_model_and_config
from monitoring.alarm_rules import guard_alarm_names

REGION = "us-east-1"
SETTINGS = Settings()
GROUP = SETTINGS.model_package_group_name
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/mlops-showcase-sagemaker-execution"
SPEC = ServingSpec.from_settings(SETTINGS, ROLE)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"


def register(sagemaker: Any, status: str, metadata: dict[str, str] | None = None) -> str:
    """A version of the group with this approval status; its ARN."""
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/models/job/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus=status,
        **({"CustomerMetadataProperties": metadata} if metadata else {}),
    )["ModelPackageArn"]


def _endpoints() -> dict[str, Any]:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints


def serve(sagemaker: Any, spec: ServingSpec, arn: str) -> str:
    """Roll `arn` out as the deployer does on moto: its model and config, then the endpoint on it."""
    version = int(arn.rsplit("/", 1)[1])
    name = create_model_and_config(sagemaker, spec, arn, version)
    endpoints = _endpoints()
    if spec.endpoint in endpoints:
        # moto has no UpdateEndpoint: what an update that reached InService leaves behind.
        endpoints[spec.endpoint].endpoint_config_name = name
    else:
        sagemaker.create_endpoint(EndpointName=spec.endpoint, EndpointConfigName=name)
    return name


def set_endpoint_status(spec: ServingSpec, status: str, reason: str | None = None) -> None:
    """A state only time produces in AWS (moto's endpoints are InService at once)."""
    endpoint = _endpoints()[spec.endpoint]
    endpoint.endpoint_status = status
    endpoint.failure_reason = reason


def names(sagemaker: Any) -> tuple[list[str], list[str]]:
    """Every endpoint config and model in the account, by name."""
    configs = sorted(c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"])
    models = sorted(m["ModelName"] for m in sagemaker.list_models()["Models"])
    return configs, models


def put_guard_alarms(cloudwatch: Any) -> list[str]:
    """The guard alarms the bake watches (their metric does not matter to the verdict)."""
    alarm_names = guard_alarm_names(SETTINGS)
    for name in alarm_names:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="ModelLatency",
            Namespace="AWS/SageMaker",
            Statistic="Average",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    return alarm_names
