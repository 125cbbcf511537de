"""moto's SageMaker: training jobs as the pipeline starts them, and two calls moto 5.2.5 lacks (as documented).

- StopTrainingJob: an InProgress job goes to Stopping (SageMaker then stops it within 120 s);
  any other status is refused with a ValidationException.
- DeleteModelPackage: the version leaves the group (in AWS after a short Deleting); a version in
  `SLOW_DELETES` stays listed as Deleting until the test removes it (the call is asynchronous).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from mlops_core import naming
from mlops_core.sagemaker_inputs import training_hyperparameters, training_job_request
from mlops_core.settings import Settings
from model_code.metric_definitions import METRIC_DEFINITIONS

REGION = "us-east-1"
SETTINGS = Settings()


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("TrainingJobName")
    job = self.sagemaker_backend.training_jobs.get(name)
    if job is None:
        raise ResourceNotFound(f"Training job {name} does not exist.")
    if job.training_job_status != "InProgress":
        raise ValidationError(
            f"The request was rejected because the training job is in status {job.training_job_status}."
        )
    job.training_job_status = job.secondary_status = "Stopping"
    return EmptyResult()


# Versions whose deletion SageMaker has accepted but not finished.
SLOW_DELETES: set[str] = set()


def _delete_model_package(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("ModelPackageName")
    backend = self.sagemaker_backend
    arn = backend.model_package_name_mapping.get(name, name)
    if arn in SLOW_DELETES and arn in backend.model_packages:
        backend.model_packages[arn].model_package_status = "Deleting"
        return EmptyResult()
    if backend.model_packages.pop(arn, None) is None:
        raise ValidationError(f"Model package {name} does not exist.")
    return EmptyResult()


@contextmanager
def moto_stop_and_delete() -> Iterator[None]:
    """Within the block, moto answers StopTrainingJob and DeleteModelPackage."""
    SLOW_DELETES.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SageMakerResponse, "stop_training_job", _stop_training_job, raising=False)
        patch.setattr(SageMakerResponse, "delete_model_package", _delete_model_package, raising=False)
        yield


def start_training_job(sagemaker: Any, name: str, *, bucket: str, output_path: str) -> None:
    """The training pipeline's Train request on moto (the job is Completed at once there)."""
    sagemaker.create_training_job(
        **training_job_request(
            SETTINGS,
            job_name=name,
            role_arn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/execution",
            image=naming.xgboost_image_uri(REGION),
            hyperparameters=training_hyperparameters(SETTINGS, f"s3://{bucket}/code/0a1b/sourcedir.tar.gz", REGION),
            metric_definitions=METRIC_DEFINITIONS,
            train_uri=f"s3://{bucket}/data/train/",
            validation_uri=f"s3://{bucket}/data/validation/",
            output_path=output_path,
        )
    )


def set_job(name: str, status: str, *, secondary: str = "", failure_reason: str | None = None) -> None:
    """Put a job into a state that only time produces in AWS."""
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[name]
    job.training_job_status, job.secondary_status = status, secondary or status
    if failure_reason is not None:
        job.failure_reason = failure_reason
