"""Custom resources that put the training data into the bucket and empty buckets on destroy.

Our own small handler instead of CDK's BucketDeployment and auto-delete providers, whose
generated policies carry wildcard actions (`s3:GetObject*`, `s3:List*`, `s3:DeleteObject*`).
It answers CloudFormation directly (no Provider framework): each call is one short S3 job.

- `Custom::TrainingData`: Create/Update copy the listed asset objects to their keys in the
  bucket. Delete keeps them (the bucket's own removal decides).
- `Custom::EmptyBucket`: Delete removes every object version and delete marker, after removing the
  bucket policy when asked, so that server access logs can no longer arrive while it empties.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlops_stacks.handlers.cfn_response import respond

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

TRAINING_DATA = "Custom::TrainingData"
ANSWER_RESERVE_SECONDS = 60  # stop deleting while there is still time to answer CloudFormation
EMPTY_BUCKET = "Custom::EmptyBucket"
REQUEST_TYPES = ("Create", "Update", "Delete")
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def _required(properties: dict[str, Any], name: str) -> Any:
    """The named resource property, or an error naming the one that is missing."""
    if name not in properties:
        raise ValueError(f"resource property {name!r} is missing (got {sorted(properties)})")
    return properties[name]


def _copy_list(properties: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The `Objects` property as (source bucket, source key, destination key) triples."""
    raw = _required(properties, "Objects")
    try:
        objects = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as error:
        raise ValueError(f"resource property 'Objects' is not JSON: {error}") from error
    if not isinstance(objects, list):
        raise ValueError(f"resource property 'Objects' must be a JSON list, got {type(objects).__name__}")
    copies = []
    for item in objects:
        source = item.get("source", "") if isinstance(item, dict) else ""
        source_bucket, _, source_key = source.partition("/")
        if not (source_bucket and source_key and isinstance(item.get("key"), str) and item["key"]):
            raise ValueError(f'each entry of Objects must be {{"source": "bucket/key", "key": "..."}}, got {item!r}')
        copies.append((source_bucket, source_key, item["key"]))
    return copies


def copy_training_data(s3: Any, properties: dict[str, Any]) -> str:
    """Copy each `{"source": "bucket/key", "key": "..."}` into `Bucket`; returns the physical ID."""
    bucket = _required(properties, "Bucket")
    prefix = _required(properties, "Prefix")
    for source_bucket, source_key, key in _copy_list(properties):
        try:
            s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key})
        except (ClientError, BotoCoreError) as error:
            # botocore's message names only the operation; CloudFormation's reader needs the object
            raise RuntimeError(
                f"could not copy s3://{source_bucket}/{source_key} to s3://{bucket}/{key}: {error}"
            ) from error
        logger.info("copied s3://%s/%s to s3://%s/%s", source_bucket, source_key, bucket, key)
    return f"{bucket}/{prefix}"


def _first_versions(s3: Any, bucket: str) -> list[dict[str, str]]:
    """Up to one batch of object versions and delete markers, from the start of the bucket.

    Each round lists from the start again: the entries before it are gone, and a listing marker
    that points at a deleted version is not a safe place to continue from.
    """
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=DELETE_BATCH)
    entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    return [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries][:DELETE_BATCH]


def empty_bucket(
    s3: Any, bucket: str, *, remove_policy: bool, seconds_left: Callable[[], float] = lambda: math.inf
) -> int:
    """Delete every version and delete marker in the bucket; a bucket already gone counts as empty.

    Stops with a clear error while the Lambda still has time to answer, so that CloudFormation
    hears FAILED at once instead of waiting for the custom resource's timeout; running the
    destroy again continues where this one stopped.
    """
    deleted = 0
    try:
        if remove_policy:
            s3.delete_bucket_policy(Bucket=bucket)
        while batch := _first_versions(s3, bucket):
            if seconds_left() < ANSWER_RESERVE_SECONDS:
                raise TimeoutError(
                    f"deleted {deleted} versions of s3://{bucket} but more remain and the time is up: "
                    "run the destroy again to continue"
                )
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(
                    f"could not delete s3://{bucket}/{first['Key']} (version {first.get('VersionId')}): "
                    f"{first.get('Code')}: {first.get('Message')} ({len(answer['Errors'])} keys failed)"
                )
            deleted += len(batch)
    except s3.exceptions.NoSuchBucket:
        logger.info("s3://%s is already gone", bucket)
        return deleted
    logger.info("emptied s3://%s (%d versions and delete markers)", bucket, deleted)
    return deleted


def handle(event: dict[str, Any], s3: Any, seconds_left: Callable[[], float] = lambda: math.inf) -> str:
    """Do what the event asks and return the physical resource ID."""
    kind, request = event.get("ResourceType"), event.get("RequestType")
    if kind not in (TRAINING_DATA, EMPTY_BUCKET):
        raise ValueError(f"unknown resource type {kind!r}: expected {TRAINING_DATA} or {EMPTY_BUCKET}")
    if request not in REQUEST_TYPES:
        raise ValueError(f"unknown request type {request!r}: expected one of {', '.join(REQUEST_TYPES)}")
    properties = event.get("ResourceProperties", {})
    if kind == TRAINING_DATA:
        if request == "Delete":
            return event["PhysicalResourceId"]
        return copy_training_data(s3, properties)
    bucket = _required(properties, "Bucket")
    if request == "Delete":
        remove_policy = str(properties.get("RemovePolicy", "false")).lower() == "true"
        empty_bucket(s3, bucket, remove_policy=remove_policy, seconds_left=seconds_left)
        # a Delete answers with the ID it was given, whatever the properties say now
        return event["PhysicalResourceId"]
    return bucket


def handler(event: dict[str, Any], context: object, client: Callable[[], Any] = lambda: boto3.client("s3")) -> None:
    """Lambda entry point: always answers CloudFormation, with the error as the reason on failure.

    Only a failed PUT of the answer itself propagates: Lambda then retries the (idempotent) request.
    """
    physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    logger.info("%s %s %s", event.get("RequestType"), event.get("ResourceType"), physical_id)
    try:
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        seconds_left = (lambda: remaining_ms() / 1000) if remaining_ms else (lambda: math.inf)
        physical_id = handle(event, client(), seconds_left)
    except Exception as error:
        logger.exception("request failed")
        respond(event, "FAILED", physical_id, f"{type(error).__name__}: {error}")
        return
    respond(event, "SUCCESS", physical_id)
