"""Registry stack: the Model Package Group, the training pipeline that fills it, and what starts it."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_core.naming import TRAINING_LOG_GROUP, TRAINING_RUN_OUTPUT, training_run_id
from mlops_core.settings import Settings
from mlops_stacks.constructs.cleanup import Cleanup
from mlops_stacks.constructs.pipeline_run import PipelineRun
from mlops_stacks.constructs.pipeline_state_machine import arn
from mlops_stacks.constructs.retraining_triggers import RetrainingTriggers
from mlops_stacks.constructs.training_pipeline import TrainingPipeline
from mlops_stacks.handlers.registry_cleanup import RESOURCE_TYPE as REGISTRY_CLEANUP
from mlops_stacks.storage import artifact_bucket


class RegistryStack(Stack):
    """Versions models behind the quality gate.

    A deploy starts one training run (`PipelineRun`) whenever what shapes the model changed, and
    completes only once that run's version is Approved, so the endpoint stack that follows always
    finds an approved version. Version ARNs never cross stacks: the deployment pipeline reads the
    group, whose name is fixed at synth.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        execution_role: iam.IRole,
        train_uri: str,
        validation_uri: str,
        data_hash: str,
        sourcedir_uri: str,
        code_hash: str,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = artifact_bucket(self, settings)
        self.group_name = settings.model_package_group_name
        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.group_name,
            model_package_group_description=f"Model versions of {settings.project_name}, gated on validation AUC",
        )
        group.apply_removal_policy(
            RemovalPolicy.DESTROY if settings.removal_policy == "destroy" else RemovalPolicy.RETAIN
        )

        self.training = TrainingPipeline(
            self,
            "TrainingPipeline",
            settings=settings,
            bucket=bucket,
            execution_role=execution_role,
            group_name=self.group_name,
            sourcedir_uri=sourcedir_uri,
            topic=topic,
            topic_key=topic_key,
        )
        self.triggers = RetrainingTriggers(
            self,
            "RetrainingTriggers",
            settings=settings,
            state_machine=self.training.state_machine,
            bucket_name=bucket.bucket_name,
        )
        self.cleanup = self._cleanup(settings)
        # Deleted before the group, whose versions it removes, and after the pipeline and its
        # triggers, so that no run starts a job once the clean-up has looked.
        self.cleanup.node.add_dependency(group)
        self.training.node.add_dependency(self.cleanup)
        self.triggers.node.add_dependency(self.cleanup)

        self.training_run_id = training_run_id(settings, data_hash, code_hash)
        self.run = PipelineRun(
            self,
            "TrainingRun",
            settings=settings,
            function_name=settings.name("training-run"),
            pipeline=self.training.pipeline,
            run_id=self.training_run_id,
            run_input={"trigger": "deploy", "data": {"train": train_uri, "validation": validation_uri}},
            timeout=Duration.minutes(settings.training_wait_minutes),
        )
        self.run.node.add_dependency(group)

        CfnOutput(self, "ModelPackageGroupName", value=self.group_name)
        CfnOutput(self, "TrainingPipelineArn", value=self.training.state_machine.state_machine_arn)
        CfnOutput(self, TRAINING_RUN_OUTPUT, value=self.training_run_id)

    def _cleanup(self, settings: Settings) -> Cleanup:
        """On destroy: stop the project's training jobs, delete the versions (unless retained) and the job logs."""
        group = self.group_name.lower()
        jobs = arn(self, "sagemaker", f"training-job/{self.training.job_name_prefix.lower()}*")
        training_logs = arn(self, "logs", f"log-group:{TRAINING_LOG_GROUP}")
        return Cleanup(
            self,
            "RegistryCleanup",
            settings=settings,
            function_name=settings.name("registry-cleanup"),
            handler="mlops_stacks.handlers.registry_cleanup.handler",
            description="On destroy: stops the project's training jobs, deletes its versions and job logs",
            resource_type=REGISTRY_CLEANUP,
            properties={"ModelPackageGroupName": self.group_name, **self.training.cleanup_properties()},
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"], resources=[jobs]
                ),
                iam.PolicyStatement(
                    actions=["sagemaker:DeleteModelPackage"],
                    resources=[arn(self, "sagemaker", f"model-package/{group}/*")],
                ),
                # List calls have no resource-level permissions.
                iam.PolicyStatement(
                    actions=["sagemaker:ListTrainingJobs", "sagemaker:ListModelPackages"], resources=["*"]
                ),
                # DescribeLogStreams is authorized on the group's `:*` ARN (botocore logs LogGroup.arn).
                iam.PolicyStatement(actions=["logs:DescribeLogStreams"], resources=[f"{training_logs}:*"]),
                iam.PolicyStatement(
                    actions=["logs:DeleteLogStream"],
                    resources=[f"{training_logs}:log-stream:{self.training.job_name_prefix}*"],
                ),
            ],
        )
