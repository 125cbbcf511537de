"""AWS test fixtures: make every boto3 call check enum parameters the way the real API does.

moto accepts any string where AWS accepts only an enum value (it took `ModelPackageType="VERSIONED"`,
which SageMaker refuses). The hook below reads the allowed values from botocore's service model
and answers an invalid one with the ValidationException AWS sends, before moto sees the request.
Enter `enum_checked_boto3()` just inside `mock_aws()`, in the fixture that makes the clients.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from botocore.hooks import BaseEventHooks
from botocore.model import OperationModel, Shape

# Every operation of every service: the emitter matches registered names as prefixes.
EVENT = "before-parameter-build"


def enum_violations(value: Any, shape: Shape, path: str) -> list[str]:
    """Describe each string in `value` (walked along `shape`) that is not one of its shape's enum values."""
    if shape.type_name == "string" and isinstance(value, str):
        allowed = shape.enum
        if allowed and value not in allowed:
            return [
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            ]
        return []
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = shape.members
        return [
            problem
            for name, item in value.items()
            if name in members
            for problem in enum_violations(item, members[name], f"{path}.{name}" if path else name)
        ]
    if shape.type_name == "list" and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in enum_violations(item, shape.member, f"{path}.{i + 1}")]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return [
            problem
            for key, item in value.items()
            for problem in [
                *enum_violations(key, shape.key, f"{path}.key"),
                *enum_violations(item, shape.value, f"{path}.{key}"),
            ]
        ]
    return []


def _check_enum_parameters(params: Mapping[str, Any], model: OperationModel, **_: Any) -> None:
    """botocore hook: refuse the call as AWS would when a parameter is not one of its enum values."""
    if model.input_shape is None:
        return
    problems = enum_violations(params, model.input_shape, "")
    if problems:
        count = len(problems)
        message = f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}"
        raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, model.name)


def check_enums(events: BaseEventHooks) -> None:
    """Register the enum check on a session's or a client's events (`session.events`, `client.meta.events`)."""
    events.register(EVENT, _check_enum_parameters, unique_id="tests-check-enum-parameters")


@contextmanager
def enum_checked_boto3() -> Iterator[boto3.session.Session]:
    """Within the block, `boto3.client(...)` builds clients that check enum parameters.

    Handlers create their clients with `boto3.client`, which uses the default session, so the
    check reaches them without any change to the handlers. Enter it inside `mock_aws()` (which
    swaps the default session out while it runs) and before any client is made.
    """
    previous = boto3.DEFAULT_SESSION
    session = boto3.session.Session()
    check_enums(session.events)
    boto3.DEFAULT_SESSION = session
    try:
        yield session
    finally:
        boto3.DEFAULT_SESSION = previous
