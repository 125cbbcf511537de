"""Storage stack: the artifact and access-log buckets, the SageMaker execution role, the data, the alert topic."""

from __future__ import annotations

import functools
from pathlib import Path

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

import dataset
from mlops_core import naming
from mlops_core.naming import (
    ATHENA_RESULTS_PREFIX,
    CAPTURE_PREFIX,
    CODE_PREFIX,
    DATA_PREFIX,
    MODELS_PREFIX,
    TRAINING_LOG_GROUP,
    endpoint_log_group_name,
)
from mlops_core.settings import Settings
from mlops_core.staging import SOURCEDIR_ARCHIVE, sourcedir, training_data
from mlops_stacks.constructs.bucket_objects import EmptyBucketOnDelete, TrainingData


def bucket_name(settings: Settings, purpose: str) -> str:
    """The bucket's name (`naming.bucket_name`) in the deploying account and region, as tokens."""
    return naming.bucket_name(settings.project_name, purpose, Aws.ACCOUNT_ID, Aws.REGION)


def write_training_files(settings: Settings, out_dir: Path) -> None:
    """The training data the settings name: synthetic when `data_path` is unset, else the user's checked CSV."""
    if settings.data_path is None:
        dataset.write_dataset(out_dir, rows=settings.synthetic_rows, seed=settings.data_seed)
    else:
        dataset.prepare_user_csv(
            Path(settings.data_path), label_column=settings.label_column, out_dir=out_dir, seed=settings.data_seed
        )


def artifact_bucket(scope: Construct, settings: Settings) -> s3.IBucket:
    """The artifact bucket as seen from another stack: by name, so no export ties the stacks."""
    return s3.Bucket.from_bucket_name(scope, "ArtifactBucket", bucket_name(settings, "data"))


class StorageStack(Stack):
    """Buckets, the execution role SageMaker jobs and the endpoint run as, the training data, the alert topic.

    The topic lives here because both pipelines notify it, and the first training run happens
    before the observability stack exists.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        destroy = settings.removal_policy == "destroy"
        removal = RemovalPolicy.DESTROY if destroy else RemovalPolicy.RETAIN

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=bucket_name(settings, "logs"),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=removal,
        )
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            bucket_name=bucket_name(settings, "data"),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-capture",
                    prefix=f"{CAPTURE_PREFIX}/",
                    expiration=Duration.days(settings.capture_retention_days),
                ),
                s3.LifecycleRule(
                    id="expire-query-results",
                    prefix=f"{ATHENA_RESULTS_PREFIX}/",
                    expiration=Duration.days(7),
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=removal,
        )
        # New labelled data starts a training run through EventBridge. The native property, not
        # `event_bridge_enabled=True`, which adds a custom resource and a Node Lambda to set it.
        bucket_resource = self.bucket.node.default_child
        assert isinstance(bucket_resource, s3.CfnBucket)
        bucket_resource.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        if destroy:
            EmptyBucketOnDelete(
                self,
                "EmptyArtifacts",
                bucket=self.bucket,
                log_retention_days=settings.log_retention_days,
                remove_policy=False,
            )
            # Access logs arrive minutes late: drop the policy that lets the logging service write first.
            EmptyBucketOnDelete(
                self,
                "EmptyAccessLogs",
                bucket=self.log_bucket,
                log_retention_days=settings.log_retention_days,
                remove_policy=True,
            )

        data_dir, self.data_hash, self.feature_names = training_data(functools.partial(write_training_files, settings))
        self.data_prefix = data_prefix = f"{DATA_PREFIX}/{self.data_hash[:16]}"
        # Earlier data sets stay in the bucket: they are the lineage of the versions trained on them.
        self.data_deployment = TrainingData(
            self,
            "TrainingData",
            bucket=self.bucket,
            source=data_dir,
            prefix=data_prefix,
            log_retention_days=settings.log_retention_days,
        )
        name = bucket_name(settings, "data")
        self.train_uri = f"s3://{name}/{data_prefix}/train/"
        self.validation_uri = f"s3://{name}/{data_prefix}/validation/"

        # The code lives at an immutable key in our own bucket: every model version keeps serving
        # its own code after later deploys (the CDK asset bucket's keys are not ours to keep).
        code_dir, self.code_hash = sourcedir()
        self.code_prefix = f"{CODE_PREFIX}/{self.code_hash[:16]}"
        self.code_deployment = TrainingData(
            self,
            "TrainingCode",
            bucket=self.bucket,
            source=code_dir,
            prefix=self.code_prefix,
            log_retention_days=settings.log_retention_days,
        )
        self.sourcedir_uri = f"s3://{name}/{self.code_prefix}/{SOURCEDIR_ARCHIVE}"

        self.execution_role = iam.Role(
            self,
            "SageMakerExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the project's SageMaker training jobs and serves its endpoint",
        )
        self._grant_execution_role(settings)
        self.topic_key, self.topic = self._alert_topic(settings)

        CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "ExecutionRoleArn", value=self.execution_role.role_arn)
        CfnOutput(self, "AlertTopicArn", value=self.topic.topic_arn)

    def _alert_topic(self, settings: Settings) -> tuple[kms.Key, sns.Topic]:
        """An encrypted topic; CloudWatch alarms, EventBridge and Budgets may use the key to publish."""
        key = kms.Key(
            self,
            "AlertKey",
            description="Encrypts the alert topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # EventBridge gets its grant from the SnsTopic target; alarms publish with this one.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        topic = sns.Topic(
            self,
            "Alerts",
            display_name=f"{settings.project_name} alerts",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        if settings.alert_email:
            topic.add_subscription(subscriptions.EmailSubscription(settings.alert_email))
        return key, topic

    def _grant_execution_role(self, settings: Settings) -> None:
        """Exactly what a training job and the serving container do with our resources."""
        role = self.execution_role
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}/*" for p in (DATA_PREFIX, CODE_PREFIX, MODELS_PREFIX)]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    self.bucket.arn_for_objects(f"{DATA_PREFIX}/*"),
                    self.bucket.arn_for_objects(f"{CODE_PREFIX}/*"),
                    self.bucket.arn_for_objects(f"{MODELS_PREFIX}/*"),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{MODELS_PREFIX}/*")],
            )
        )
        log_group = f"arn:{self.partition}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
        training_logs = f"{log_group}{TRAINING_LOG_GROUP}"
        # The endpoint stack owns this group: without CreateLogGroup here, a container still
        # logging while destroy runs cannot bring the deleted group back.
        endpoint_logs = f"{log_group}{endpoint_log_group_name(settings.endpoint_name)}"
        # SageMaker creates its shared training log group on an account's first job.
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogGroup"], resources=[training_logs, f"{training_logs}:*"])
        )
        # Authorized on the group's `:*` ARN (botocore logs LogGroup.arn).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:DescribeLogStreams"],
                resources=[f"{arn}:*" for arn in (training_logs, endpoint_logs)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{arn}:log-stream:*" for arn in (training_logs, endpoint_logs)],
            )
        )
        # PutMetricData has no resource-level permissions; the namespace condition scopes it.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            )
        )
