"""Registry stack: the Model Package Group and the TrainingRun that fills it."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_core.settings import Settings
from mlops_stacks.constructs.training_run import TrainingRun
from mlops_stacks.storage import artifact_bucket


class RegistryStack(Stack):
    """Versions models behind the quality gate.

    The version ARN changes with every training run, so it must not pass through a CloudFormation
    export (an imported export cannot change): the endpoint stack looks it up by the group name
    and the training job name, both fixed at synth time.
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

        self.training = TrainingRun(
            self,
            "TrainingRun",
            settings=settings,
            bucket=bucket,
            execution_role=execution_role,
            group_name=self.group_name,
            train_uri=train_uri,
            validation_uri=validation_uri,
            data_hash=data_hash,
            sourcedir_uri=sourcedir_uri,
            code_hash=code_hash,
        )
        # Deleted before the group: the run's delete handler removes the versions that block it.
        self.training.resource.node.add_dependency(group)

        CfnOutput(self, "ModelPackageGroupName", value=self.group_name)
        CfnOutput(self, "TrainingJobName", value=self.training.job_name)
