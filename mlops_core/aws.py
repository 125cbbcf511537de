"""Small helpers for reading AWS answers, shared by the Lambda handlers and the operator tools.

Standard library only: the callers pass in the boto3 clients and the errors they caught.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# ResourceNotFoundException is CloudWatch Logs' code for a missing group or stream.
_NOT_FOUND_CODES = frozenset(
    {"ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "404", "NotFound"}
)
_NOT_FOUND_PHRASES = ("not found", "could not find", "does not exist", "cannot find")


def is_not_found(err: ClientError) -> bool:
    """Tell whether an AWS error says the thing is not there (SageMaker says so several ways)."""
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in _NOT_FOUND_CODES:
        return True
    message = str(error.get("Message", "")).lower()
    return code == "ValidationException" and any(phrase in message for phrase in _NOT_FOUND_PHRASES)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URI; ValueError naming the URI otherwise."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
