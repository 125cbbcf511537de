"""Endpoint stack: the served model, its serverless endpoint, its log group and request capture."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as log_destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_core.naming import CAPTURE_PREFIX, endpoint_log_group_name
from mlops_core.settings import Settings
from mlops_stacks.constructs.python_function import PythonFunction, retention
from mlops_stacks.handlers.approved_package import RESOURCE_TYPE as APPROVED_PACKAGE_RESOURCE
from mlops_stacks.storage import artifact_bucket
from monitoring.capture import CAPTURE_MARKER, PARTITION_FORMAT
from monitoring.metrics import VARIANT_NAME

# Columns of one capture record (docs/contracts.md); the drift query reads these.
CAPTURE_COLUMNS = (
    ("ts", "string"),
    ("request_id", "string"),
    ("model_id", "string"),
    ("i", "int"),
    ("n", "int"),
    ("x", "array<double>"),
    ("score", "double"),
)
# Partition projection needs a start; captures cannot predate this project.
CAPTURE_PROJECTION_START = "2026/01/01/00"


class EndpointStack(Stack):
    """Serves the newest approved model version on a serverless endpoint and captures its requests."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        execution_role: iam.IRole,
        group_name: str,
        training_job_name: str,
        release_id: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = artifact_bucket(self, settings)
        self.endpoint_name = settings.endpoint_name

        # Created by us, not by SageMaker, so it has a retention and goes away on destroy.
        self.log_group = logs.LogGroup(
            self,
            "EndpointLogs",
            log_group_name=endpoint_log_group_name(self.endpoint_name),
            retention=retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # Looked up by names known at synth: a new approved version replaces the model, no export involved.
        package_arn = self._approved_package(settings, group_name, training_job_name, release_id)
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=package_arn),
        )
        serverless = sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
            memory_size_in_mb=settings.serverless_memory_size,
            max_concurrency=settings.serverless_max_concurrency,
            provisioned_concurrency=settings.serverless_provisioned_concurrency or None,
        )
        config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=model.attr_model_name,
                    serverless_config=serverless,
                )
            ],
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=config.attr_endpoint_config_name,
        )
        self.endpoint.node.add_dependency(self.log_group)

        self._capture(settings, bucket)

        CfnOutput(self, "EndpointName", value=self.endpoint_name)
        CfnOutput(self, "CaptureTableName", value=f"{self.capture_database}.{self.capture_table}")

    def _approved_package(self, settings: Settings, group_name: str, training_job_name: str, release_id: str) -> str:
        """The ARN of the approved version that `training_job_name` produced (Custom::ApprovedModelPackage)."""
        lookup = PythonFunction(
            self,
            "ApprovedPackageLookup",
            function_name=settings.name("approved-package"),
            handler="mlops_stacks.handlers.approved_package.handler",
            description="Finds the approved model package version of the current training job",
            log_retention_days=settings.log_retention_days,
        )
        versions = f"arn:{self.partition}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:model-package/{group_name.lower()}/*"
        lookup.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[versions]))
        # ListModelPackages has no resource-level permissions.
        lookup.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]))
        package = CustomResource(
            self,
            "ApprovedModelPackage",
            service_token=lookup.function.function_arn,
            resource_type=APPROVED_PACKAGE_RESOURCE,
            service_timeout=Duration.minutes(2),
            properties={
                "ModelPackageGroupName": group_name,
                "TrainingJobName": training_job_name,
                "Release": release_id,
            },
        )
        return package.get_att_string("ModelPackageArn")

    def _capture(self, settings: Settings, bucket: s3.IBucket) -> None:
        """Endpoint log group → subscription filter → capture Lambda → hour-partitioned JSONL in S3."""
        self.capture_failures = sqs.Queue(
            self,
            "CaptureFailures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.capture_writer = PythonFunction(
            self,
            "CaptureWriter",
            function_name=settings.name("capture-writer"),
            handler="mlops_stacks.handlers.capture_writer.handler",
            description="Writes capture records from the endpoint's logs to S3, partitioned by hour",
            log_retention_days=settings.log_retention_days,
            timeout=Duration.minutes(1),
            memory_size=512,
            environment={"CAPTURE_BUCKET": bucket.bucket_name, "ENDPOINT_NAME": self.endpoint_name},
            dead_letter_queue=self.capture_failures,
        )
        self.capture_writer.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{CAPTURE_PREFIX}/{self.endpoint_name}/*")],
            )
        )
        logs.SubscriptionFilter(
            self,
            "CaptureSubscription",
            log_group=self.log_group,
            destination=log_destinations.LambdaDestination(self.capture_writer.function),
            filter_pattern=logs.FilterPattern.all_terms(CAPTURE_MARKER),
        )

        self.capture_database = settings.project_name.replace("-", "_") + "_capture"
        self.capture_table = "requests"
        location = f"s3://{bucket.bucket_name}/{CAPTURE_PREFIX}/{self.endpoint_name}"
        database = glue.CfnDatabase(
            self,
            "CaptureDatabase",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(name=self.capture_database),
        )
        table = glue.CfnTable(
            self,
            "CaptureTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.capture_database,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.capture_table,
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": PARTITION_FORMAT,
                    "projection.dt.range": f"{CAPTURE_PROJECTION_START},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "HOURS",
                    "storage.location.template": location + "/${dt}/",
                },
                partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in CAPTURE_COLUMNS],
                    location=location + "/",
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "true"},
                    ),
                ),
            ),
        )
        table.node.add_dependency(database)
