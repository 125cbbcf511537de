"""What the training pipeline hands SageMaker: the training job, its hyperparameters, the serving environment.

Pure functions, so the stack (with CloudFormation tokens for the code URI and the region, and
state paths for what each run decides) and the local demo (with real values) build exactly the
same request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_core import naming
from mlops_core.settings import Settings

JSON_CONTENT_TYPE = "application/json"
# The serving container stamps each capture record with this variable's value (docs/contracts.md).
MODEL_ID_VARIABLE = "MLOPS_MODEL_ID"
CONTAINER_LOG_LEVEL = "20"  # logging.INFO


def training_hyperparameters(settings: Settings, code_uri: str, region: str) -> dict[str, str]:
    """Script-mode hyperparameters, every value JSON-encoded as the SageMaker SDK sends them."""
    return {
        **{key: json.dumps(value) for key, value in settings.hyperparameters.items()},
        "sagemaker_program": json.dumps(naming.ENTRY_POINT),
        "sagemaker_submit_directory": json.dumps(code_uri),
        "sagemaker_region": json.dumps(region),
        "sagemaker_container_log_level": CONTAINER_LOG_LEVEL,
    }


def training_job_request(
    settings: Settings,
    *,
    job_name: str,
    role_arn: str,
    image: str,
    hyperparameters: Mapping[str, str],
    metric_definitions: Sequence[Mapping[str, str]],
    train_uri: str,
    validation_uri: str,
    output_path: str,
) -> dict[str, Any]:
    """The CreateTrainingJob request of a script-mode run in the XGBoost framework container."""
    return {
        "TrainingJobName": job_name,
        "RoleArn": role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "MetricDefinitions": [dict(item) for item in metric_definitions],
        },
        "HyperParameters": dict(hyperparameters),
        "InputDataConfig": [_channel("train", train_uri), _channel("validation", validation_uri)],
        "OutputDataConfig": {"S3OutputPath": output_path},
        "ResourceConfig": {
            "InstanceType": settings.training_instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": naming.TRAINING_VOLUME_GB,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.training_max_runtime_minutes * 60},
        "Tags": tag_list(project_tags(settings)),
    }


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": "text/csv",
        "CompressionType": "None",
    }


def serving_environment(settings: Settings, code_uri: str, region: str) -> dict[str, str]:
    """The model package container's environment (docs/contracts.md), but for the model's id.

    The id is the training job's name, known only once a run has named its job: the registration
    adds it as `MLOPS_MODEL_ID` (`with_model_id`).
    """
    return {
        "SAGEMAKER_PROGRAM": naming.INFERENCE_PROGRAM,
        "SAGEMAKER_SUBMIT_DIRECTORY": code_uri,
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": CONTAINER_LOG_LEVEL,
        # Serverless: one worker, one model copy, as the Serverless Inference guide recommends
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": JSON_CONTENT_TYPE,
        "MLOPS_CAPTURE_PERCENT": str(settings.data_capture_sampling_percentage),
    }


def with_model_id(environment: Mapping[str, str], job_name: str) -> dict[str, str]:
    """The serving environment of the model trained by `job_name`: captures carry it as `model_id`."""
    return {**environment, MODEL_ID_VARIABLE: job_name}


def project_tags(settings: Settings) -> dict[str, str]:
    """The cost-tracking tags on every resource of the project."""
    return {"project": settings.project_name, "cost-center": settings.cost_center}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """SageMaker's Tags shape from a plain mapping."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
