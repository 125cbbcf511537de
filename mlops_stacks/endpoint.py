"""Endpoint stack: the deployment pipeline that serves the newest approved version, its log group, capture.

The stack holds no SageMaker model, endpoint config or endpoint: the deployment pipeline is their
only writer, so no CloudFormation update or rollback can take the endpoint back to an older model.
A deploy starts a deployment run (`PipelineRun`) when its training run or how the endpoint serves
changed, and waits for it; the clean-up removes what the pipeline made on destroy.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as log_destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_core.naming import CAPTURE_PREFIX, endpoint_log_group_name, served_model_run_id
from mlops_core.settings import Settings
from mlops_stacks.constructs.cleanup import Cleanup
from mlops_stacks.constructs.deployment_pipeline import DeploymentPipeline
from mlops_stacks.constructs.pipeline_run import PipelineRun
from mlops_stacks.constructs.pipeline_state_machine import arn
from mlops_stacks.constructs.python_function import PythonFunction, retention
from mlops_stacks.handlers.endpoint_cleanup import RESOURCE_TYPE as ENDPOINT_CLEANUP
from mlops_stacks.storage import artifact_bucket
from monitoring.capture import CAPTURE_MARKER, PARTITION_FORMAT

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
        training_run_id: str,
        topic: sns.ITopic,
        topic_key: kms.IKey,
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

        self.deployment = DeploymentPipeline(
            self,
            "DeploymentPipeline",
            settings=settings,
            execution_role_arn=execution_role.role_arn,
            topic=topic,
            topic_key=topic_key,
        )
        self.cleanup = self._cleanup(settings)
        # On destroy, the pipeline and its run go first (no rollout starts while the clean-up
        # works), and the endpoint is gone before its log group.
        self.deployment.node.add_dependency(self.cleanup)
        self.cleanup.node.add_dependency(self.log_group)

        self.served_model_run_id = served_model_run_id(settings, training_run_id)
        self.run = PipelineRun(
            self,
            "ServedModelRun",
            settings=settings,
            function_name=settings.name("deployment-run"),
            pipeline=self.deployment.pipeline,
            run_id=self.served_model_run_id,
            run_input={"trigger": "deploy", "training_run": training_run_id},
            timeout=self.deployment.timeout,
        )

        self._capture(settings, bucket)

        CfnOutput(self, "EndpointName", value=self.endpoint_name)
        CfnOutput(self, "DeploymentPipelineArn", value=self.deployment.state_machine.state_machine_arn)
        CfnOutput(self, "ServedModelRunId", value=self.served_model_run_id)
        CfnOutput(self, "CaptureTableName", value=f"{self.capture_database}.{self.capture_table}")

    def _cleanup(self, settings: Settings) -> Cleanup:
        """On destroy: the endpoint, then every config and model the deployment pipeline made."""
        deployed = f"{settings.project_name.lower()}-v*"
        return Cleanup(
            self,
            "EndpointCleanup",
            settings=settings,
            function_name=settings.name("endpoint-cleanup"),
            handler="mlops_stacks.handlers.endpoint_cleanup.handler",
            description="On destroy: deletes the endpoint, then the configs and models the deployment made",
            resource_type=ENDPOINT_CLEANUP,
            environment=self.deployment.spec.as_env(),
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"],
                    resources=[arn(self, "sagemaker", f"endpoint/{self.endpoint_name.lower()}")],
                ),
                # List calls have no resource-level permissions.
                iam.PolicyStatement(actions=["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["sagemaker:DeleteEndpointConfig"],
                    resources=[arn(self, "sagemaker", f"endpoint-config/{deployed}")],
                ),
                iam.PolicyStatement(
                    actions=["sagemaker:DeleteModel"], resources=[arn(self, "sagemaker", f"model/{deployed}")]
                ),
            ],
        )

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
