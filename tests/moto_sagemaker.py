"""moto's SageMaker, taught two calls it lacks (moto 5.2.5), as botocore documents them.

- StopTrainingJob: an InProgress job goes to Stopping (SageMaker then stops it within 120 s);
  any other status is refused with a ValidationException.
- DeleteModelPackage: the version leaves the group (in AWS after a short Deleting).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse


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


def _delete_model_package(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("ModelPackageName")
    backend = self.sagemaker_backend
    if backend.model_packages.pop(backend.model_package_name_mapping.get(name, name), None) is None:
        raise ValidationError(f"Model package {name} does not exist.")
    return EmptyResult()


@contextmanager
def moto_stop_and_delete() -> Iterator[None]:
    """Within the block, moto answers StopTrainingJob and DeleteModelPackage."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SageMakerResponse, "stop_training_job", _stop_training_job, raising=False)
        patch.setattr(SageMakerResponse, "delete_model_package", _delete_model_package, raising=False)
        yield
