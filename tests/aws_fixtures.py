"""AWS test fixtures: every boto3 request is checked the way the real API checks it.

moto accepts much that AWS refuses (it took `ModelPackageType="VERSIONED"`, and a
`CreateModelPackage` with tags and a group, both of which SageMaker refuses). The request checker
(`local.request_checks`) answers such a request with the ValidationException AWS sends, before
moto sees it, and remembers it: leaving `checked_boto3()` fails the test when any request was
refused, even one the code under test caught. A test that provokes a refusal on purpose takes it
with `checker.take_violations()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import SageMakerModelBackend

from local.request_checks import RequestChecker


@contextmanager
def checked_boto3() -> Iterator[RequestChecker]:
    """Within the block, `boto3.client(...)` builds clients whose requests are checked.

    Handlers create their clients with `boto3.client`, which uses the default session, so the
    check reaches them without any change to the handlers. Enter it inside `mock_aws()` (which
    swaps the default session out while it runs) and before any client is made. Register the
    returned checker on any other session the test builds.
    """
    previous = boto3.DEFAULT_SESSION
    session = boto3.session.Session()
    checker = RequestChecker()
    checker.register(session.events)
    boto3.DEFAULT_SESSION = session
    try:
        yield checker
    finally:
        boto3.DEFAULT_SESSION = previous
    checker.assert_clean()


@contextmanager
def moto_update_model_package_as_documented() -> Iterator[None]:
    """moto's UpdateModelPackage, taught to keep CustomerMetadataProperties that the request leaves out.

    moto 5.2.5 replaces them with the request's (None when absent). AWS updates them: the request's
    properties are added, `CustomerMetadataPropertiesToRemove` removes (botocore sagemaker
    UpdateModelPackageInput), so an approval keeps the version's training job and run.
    """
    original = SageMakerModelBackend.update_model_package

    def update(self: SageMakerModelBackend, model_package_arn: str, **kwargs: Any) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        kept = dict(getattr(package, "customer_metadata_properties", None) or {})
        for key in kwargs.get("customer_metadata_properties_to_remove") or []:
            kept.pop(key, None)
        arn = original(self, model_package_arn, **kwargs)
        package = self.model_packages[name]
        package.customer_metadata_properties = {**kept, **(package.customer_metadata_properties or {})}
        return arn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SageMakerModelBackend, "update_model_package", update)
        yield
