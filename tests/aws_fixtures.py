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

import boto3

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
