"""Training data copied into the bucket, and buckets emptied on destroy, by one small handler."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from mlops_stacks.constructs.python_function import PythonFunction
from mlops_stacks.handlers.bucket_objects import EMPTY_BUCKET, TRAINING_DATA

HANDLER_TIMEOUT = Duration.minutes(15)
# CloudFormation gives up on a silent custom resource after this, not after its default hour.
SERVICE_TIMEOUT = Duration.minutes(16)


def _bucket_objects_function(scope: Construct, log_retention_days: int) -> PythonFunction:
    """One handler per stack serves every TrainingData and EmptyBucket resource in it."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("BucketObjects")
    if isinstance(existing, PythonFunction):
        return existing
    return PythonFunction(
        stack,
        "BucketObjects",
        function_name=f"{stack.stack_name}-bucket-objects",
        handler="mlops_stacks.handlers.bucket_objects.handler",
        description="Copies training data into the bucket; empties buckets on destroy",
        log_retention_days=log_retention_days,
        timeout=HANDLER_TIMEOUT,
        memory_size=256,
    )


class TrainingData(Construct):
    """The files of a local directory, uploaded as assets and copied to `<prefix>/<relative path>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        source: Path,
        prefix: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        function = _bucket_objects_function(self, log_retention_days)
        objects = []
        for index, path in enumerate(sorted(p for p in source.rglob("*") if p.is_file())):
            asset = s3_assets.Asset(self, f"File{index}", path=str(path))
            function.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]
                )
            )
            objects.append(
                {
                    "source": f"{asset.s3_bucket_name}/{asset.s3_object_key}",
                    "key": f"{prefix}/{path.relative_to(source).as_posix()}",
                }
            )
        function.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{prefix}/*")])
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=function.function.function_arn,
            resource_type=TRAINING_DATA,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                "Bucket": bucket.bucket_name,
                "Prefix": prefix,
                "Objects": Stack.of(self).to_json_string(objects),
            },
        )


class EmptyBucketOnDelete(Construct):
    """Deletes every object version of a bucket when the stack is destroyed, so the bucket can go."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.Bucket,
        log_retention_days: int,
        remove_policy: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        function = _bucket_objects_function(self, log_retention_days)
        function.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:ListBucketVersions"], resources=[bucket.bucket_arn])
        )
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"], resources=[bucket.arn_for_objects("*")]
            )
        )
        if remove_policy:
            function.role.add_to_policy(
                iam.PolicyStatement(actions=["s3:DeleteBucketPolicy"], resources=[bucket.bucket_arn])
            )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=function.function.function_arn,
            resource_type=EMPTY_BUCKET,
            service_timeout=SERVICE_TIMEOUT,
            properties={"Bucket": bucket.bucket_name, "RemovePolicy": json.dumps(remove_policy)},
        )
