"""What the TrainingRun hands SageMaker: the job's hyperparameters and the model's serving environment.

Pure functions, so the stack (with CloudFormation tokens for the code URI and the region) and the
local demo (with real values) build exactly the same request.
"""

from __future__ import annotations

import json

from mlops_core import naming
from mlops_core.settings import Settings

JSON_CONTENT_TYPE = "application/json"
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


def serving_environment(settings: Settings, code_uri: str, region: str, job_name: str) -> dict[str, str]:
    """The model package container's environment (docs/contracts.md)."""
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
        "MLOPS_MODEL_ID": job_name,
    }


def project_tags(settings: Settings) -> dict[str, str]:
    """The cost-tracking tags on every resource of the project."""
    return {"project": settings.project_name, "cost-center": settings.cost_center}
