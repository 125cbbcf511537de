"""TrainingRun: a custom resource that trains, waits for the artifact and registers a model version.

CloudFormation has no training-job resource. The Provider framework calls `on_event` (start the
job) and then `is_complete` every poll until the job is done, the artifact exists and the version
is registered, or fails within one poll with SageMaker's FailureReason. The job name is a hash of
everything that shapes the model (`naming.training_job_name`), so the job reruns exactly when
data, code or hyperparameters change.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from mlops_core.naming import (
    DEADLINE_SECONDS,
    MODELS_PREFIX,
    REGISTRY_PREFIX,
    TRAINING_LOG_GROUP,
    TRAINING_VOLUME_GB,
    training_job_name,
)
from mlops_core.sagemaker_inputs import project_tags, serving_environment, training_hyperparameters, with_model_id
from mlops_core.settings import Settings
from mlops_stacks.constructs.python_function import PythonFunction, ignore_redundant_depends_on, retention
from mlops_stacks.xgboost_image import xgboost_image_uri
from model_code.metric_definitions import METRIC_DEFINITIONS

POLL_INTERVAL = Duration.seconds(30)
# Inside CloudFormation's one-hour custom-resource limit, around the handler's DEADLINE_SECONDS.
TOTAL_TIMEOUT = Duration.minutes(55)


class TrainingRun(Construct):
    """Train in the XGBoost framework container, wait for `model.tar.gz`, register behind the gate."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        bucket: s3.IBucket,
        execution_role: iam.IRole,
        group_name: str,
        train_uri: str,
        validation_uri: str,
        data_hash: str,
        sourcedir_uri: str,
        code_hash: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.job_name = training_job_name(settings, data_hash, code_hash)
        # Changes whenever the registered version changes without a new job (its serving settings).
        self.release_id = hashlib.sha256(
            json.dumps([self.job_name, settings.data_capture_sampling_percentage, settings.min_validation_auc]).encode()
        ).hexdigest()[:16]
        image = xgboost_image_uri(stack)
        hyperparameters = training_hyperparameters(settings, sourcedir_uri, Aws.REGION)
        serving = with_model_id(serving_environment(settings, sourcedir_uri, Aws.REGION), self.job_name)
        tags = project_tags(settings)

        handler_args = {"log_retention_days": settings.log_retention_days, "timeout": Duration.minutes(2)}
        on_event = PythonFunction(
            self,
            "StartJob",
            function_name=settings.name("training-start"),
            handler="mlops_stacks.handlers.training_run.on_event",
            description="Starts the training job of a TrainingRun (idempotent by job name)",
            **handler_args,
        )
        is_complete = PythonFunction(
            self,
            "CheckJob",
            function_name=settings.name("training-check"),
            handler="mlops_stacks.handlers.training_run.is_complete",
            description="Polls the training job, then registers the model version behind the quality gate",
            memory_size=512,
            **handler_args,
        )
        self._grant(stack, settings, bucket, execution_role, group_name, on_event, is_complete)

        provider_logs = logs.LogGroup(
            self,
            "ProviderLogs",
            retention=retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Step Functions logs to /aws/vendedlogs/ without growing the account's log resource policy.
        waiter_logs = logs.LogGroup(
            self,
            "WaiterLogs",
            log_group_name=f"/aws/vendedlogs/states/{settings.name('training-run')}",
            retention=retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Our own roles for the framework's functions: log permissions inline, no managed policy.
        # Two roles, as the framework wires them: one shared role would form a dependency cycle.
        on_event_role, waiter_role = (
            self._framework_role(name, provider_logs) for name in ("ProviderOnEventRole", "ProviderWaiterRole")
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            framework_on_event_role=on_event_role,
            framework_complete_and_timeout_role=waiter_role,
            on_event_handler=on_event.function,
            is_complete_handler=is_complete.function,
            query_interval=POLL_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=provider_logs,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=waiter_logs, include_execution_data=False, level=sfn.LogLevel.ALL
            ),
        )
        for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout", "waiter-state-machine"):
            ignore_redundant_depends_on(self.provider.node.find_child(name))
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::TrainingRun",
            properties={
                "JobName": self.job_name,
                "RoleArn": execution_role.role_arn,
                "TrainingImage": image,
                "InstanceType": settings.training_instance_type,
                "VolumeSizeGB": str(TRAINING_VOLUME_GB),
                "MaxRuntimeSeconds": str(settings.training_max_runtime_minutes * 60),
                "DeadlineSeconds": str(DEADLINE_SECONDS),
                "HyperParameters": stack.to_json_string(hyperparameters),
                "MetricDefinitions": json.dumps(METRIC_DEFINITIONS),
                "TrainChannelUri": train_uri,
                "ValidationChannelUri": validation_uri,
                "OutputPath": f"s3://{bucket.bucket_name}/{MODELS_PREFIX}",
                "ModelPackageGroupName": group_name,
                "MinValidationAuc": str(settings.min_validation_auc),
                "ServingEnvironment": stack.to_json_string(serving),
                "ArtifactBucket": bucket.bucket_name,
                "ArtifactPrefix": REGISTRY_PREFIX,
                "Tags": json.dumps(tags, sort_keys=True),
                # With `retain` the group keeps its versions; without, destroy removes them first.
                "RetainVersions": json.dumps(settings.removal_policy == "retain"),
                "TrainingLogGroup": TRAINING_LOG_GROUP,
            },
        )
        self.model_package_arn = self.resource.get_att_string("ModelPackageArn")

    def _framework_role(self, construct_id: str, log_group: logs.ILogGroup) -> iam.Role:
        """A role for Provider framework functions that may write only to the provider's log group."""
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs Provider framework functions of the TrainingRun",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        return role

    def _grant(
        self,
        stack: Stack,
        settings: Settings,
        bucket: s3.IBucket,
        execution_role: iam.IRole,
        group_name: str,
        *functions: PythonFunction,
    ) -> None:
        """One policy for both handlers: they are two halves of the same resource's lifecycle."""
        partition = Stack.of(self).partition
        arn = f"arn:{partition}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        # SageMaker lowercases resource names in ARNs.
        jobs = f"{arn}:training-job/{settings.project_name.lower()}-*"
        training_logs = f"arn:{partition}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{TRAINING_LOG_GROUP}"
        group = group_name.lower()
        policy = iam.Policy(
            self,
            "HandlerPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[jobs],
                ),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[execution_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                # No AddTags: a version takes its group's tags (CreateModelPackage sends none).
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:DeleteModelPackage",
                    ],
                    resources=[f"{arn}:model-package/{group}/*", f"{arn}:model-package-group/{group}"],
                ),
                # List calls have no resource-level permissions.
                iam.PolicyStatement(
                    actions=["sagemaker:ListTrainingJobs", "sagemaker:ListModelPackages"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[bucket.arn_for_objects(f"{MODELS_PREFIX}/*")],
                ),
                # Without ListBucket a missing artifact answers 403 instead of 404.
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}/*"]}},
                ),
                iam.PolicyStatement(
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"{REGISTRY_PREFIX}/*")],
                ),
                # A failed job's reason is in its log stream; destroy removes our jobs' streams from
                # SageMaker's shared training log group. DescribeLogStreams is authorized on the group's
                # `:*` ARN (botocore logs LogGroup.arn), the stream actions on the stream's ARN.
                iam.PolicyStatement(actions=["logs:DescribeLogStreams"], resources=[f"{training_logs}:*"]),
                iam.PolicyStatement(
                    actions=["logs:GetLogEvents", "logs:DeleteLogStream"],
                    resources=[f"{training_logs}:log-stream:{settings.project_name}-*"],
                ),
            ],
        )
        for function in functions:
            policy.attach_to_role(function.role)
            function.function.node.add_dependency(policy)
