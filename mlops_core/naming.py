"""Names and fixed values that the stacks, the CLI and the local mode share, without aws_cdk.

Importing aws_cdk starts a jsii node process (over a second), so everything a tool needs to
address what the stacks create lives here in plain Python. The stacks pass CloudFormation's
pseudo-parameter tokens where these functions take an account and a region.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_core.settings import Settings

# Key prefixes of the artifact bucket: one place, read by every stack that grants on them.
DATA_PREFIX = "data"
CODE_PREFIX = "code"
MODELS_PREFIX = "models"
REGISTRY_PREFIX = "registry"
CAPTURE_PREFIX = "capture"
REPORTS_PREFIX = "reports"
DRIFT_REPORTS_PREFIX = f"{REPORTS_PREFIX}/drift"
ATHENA_RESULTS_PREFIX = "athena-results"
# The top-level prefixes above: the labelled-data prefix (a setting) must stay out of them.
BUCKET_PREFIXES = (
    DATA_PREFIX,
    CODE_PREFIX,
    MODELS_PREFIX,
    REGISTRY_PREFIX,
    CAPTURE_PREFIX,
    REPORTS_PREFIX,
    ATHENA_RESULTS_PREFIX,
)

# SageMaker's own log group for every training job of the account (streams `<job>/algo-1-<epoch>`).
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"

# What the training pipeline hands SageMaker besides the settings; the local demo replays the same request.
ENTRY_POINT = "train.py"
INFERENCE_PROGRAM = "inference.py"
TRAINING_VOLUME_GB = 10

# The container whose Python (3.10) and xgboost (3.0.5) model_code and the local mode match.
XGBOOST_FRAMEWORK_VERSION = "3.0-5"
XGBOOST_REGISTRIES_FILE = Path(__file__).with_name("data") / "xgboost_registries.json"


def endpoint_log_group_name(endpoint_name: str) -> str:
    """Where SageMaker writes an endpoint's container logs (the endpoint stack creates the group)."""
    return f"{ENDPOINT_LOG_GROUP_PREFIX}{endpoint_name}"


def bucket_name(project: str, purpose: str, account: str, region: str) -> str:
    """`<project>-<purpose>-<account>-<region>`: globally unique, and known to every stack and tool without a lookup."""
    for what, value in (("project", project), ("purpose", purpose), ("account", account), ("region", region)):
        if not value:
            raise ValueError(f"bucket name: {what} is empty")
    return f"{project}-{purpose}-{account}-{region}"


def _model_shaping(settings: Settings, data_hash: str, code_hash: str) -> dict[str, Any]:
    """What shapes a trained model: the data, the code, the hyperparameters, the instance type, the image."""
    return {
        "data": data_hash,
        "code": code_hash,
        "hyperparameters": dict(sorted(settings.hyperparameters.items())),
        "instance_type": settings.training_instance_type,
        "image": XGBOOST_FRAMEWORK_VERSION,
        "retrain_token": settings.retrain_token,
    }


def _digest(shaping: Mapping[str, Any]) -> str:
    """The SHA-256 of `shaping` as canonical JSON (sorted keys), in hex."""
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()


def training_job_name(settings: Settings, data_hash: str, code_hash: str) -> str:
    """A deterministic job name from what shapes the model (≤ 63 characters)."""
    return f"{settings.project_name}-{_digest(_model_shaping(settings, data_hash, code_hash))[:12]}"


# The registry stack's output naming the training run a deploy starts (read by the demo).
TRAINING_RUN_OUTPUT = "TrainingRunId"


def training_run_id(settings: Settings, data_hash: str, code_hash: str) -> str:
    """The id of the training run a deploy starts: a hash of what shapes the model and its version.

    It changes exactly when the data, the code, a hyperparameter, the instance type, the image,
    `retrain_token`, or what the registered version carries (the capture share in its serving
    environment, the gate's threshold) changes; an unchanged deploy starts no run.
    """
    shaping = {
        **_model_shaping(settings, data_hash, code_hash),
        "capture_percent": settings.data_capture_sampling_percentage,
        "min_validation_auc": settings.min_validation_auc,
    }
    return _digest(shaping)[:16]


def served_model_run_id(settings: Settings, training_run: str) -> str:
    """The id of the deployment run a deploy starts: a hash of its training run and how the endpoint serves.

    It changes exactly when the training run, the serverless memory, the (provisioned) concurrency
    or the bake changes: a deploy that changes none of them starts no deployment run, and a
    rollback that replays an old id finds its execution and starts nothing.
    """
    shaping = {
        "training_run": training_run,
        "memory_mb": settings.serverless_memory_size,
        "max_concurrency": settings.serverless_max_concurrency,
        "provisioned_concurrency": settings.serverless_provisioned_concurrency,
        "bake_minutes": settings.bake_minutes,
    }
    return _digest(shaping)[:16]


def pipeline_job_name(project: str, execution_arn: str) -> str:
    """The training job name the training pipeline gives an execution: `<project>-<MD5 of its ARN>`.

    The pipeline computes it with `States.Hash($$.Execution.Id, 'MD5')`; execution ARNs are unique,
    so each run has its own job, and the name stays within SageMaker's 63 characters.
    """
    return f"{project}-{hashlib.md5(execution_arn.encode()).hexdigest()}"


def xgboost_registries() -> tuple[str, dict[str, str]]:
    """The framework image's repository and, per region, the account of the ECR registry holding it."""
    data = json.loads(XGBOOST_REGISTRIES_FILE.read_text(encoding="utf-8"))
    return str(data["repository"]), {str(region): str(account) for region, account in data["registries"].items()}


def xgboost_image_uri(region: str, url_suffix: str = "amazonaws.com", *, account: str | None = None) -> str:
    """`<account>.dkr.ecr.<region>.<url_suffix>/sagemaker-xgboost:3.0-5`, the account looked up by region.

    `account` skips the lookup: the stack passes placeholders that CloudFormation fills in per region.
    """
    repository, registries = xgboost_registries()
    if account is None:
        account = registries.get(region)
        if account is None:
            raise ValueError(
                f"no SageMaker XGBoost image registry is known for region {region!r} "
                f"(known: {', '.join(sorted(registries))}; from {XGBOOST_REGISTRIES_FILE.name})"
            )
    return f"{account}.dkr.ecr.{region}.{url_suffix}/{repository}:{XGBOOST_FRAMEWORK_VERSION}"
