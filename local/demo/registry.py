"""Step 3: storage, registry and alerting on moto; the version is registered by the training pipeline's code."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.demo.alarms import create_alarms
from local.demo.emulator import DEMO_REGION, AwsEmulator
from local.demo.results import Registration, TrainedModel
from local.demo.steps import DemoError
from mlops_core import naming
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL
from mlops_core.sagemaker_inputs import serving_environment, training_hyperparameters, training_job_request
from mlops_core.settings import Settings

if TYPE_CHECKING:
    from mlops_stacks.handlers.training_run.registration import RegistrationConfig


def training_job(
    settings: Settings,
    job_name: str,
    *,
    bucket: str,
    role_arn: str,
    region: str,
    code_uri: str,
    data_prefix: str,
) -> dict[str, Any]:
    """The CreateTrainingJob request the training pipeline's Train state sends, on the data under `data_prefix`."""
    from model_code.metric_definitions import METRIC_DEFINITIONS

    data_uri = f"s3://{bucket}/{data_prefix}"
    return training_job_request(
        settings,
        job_name=job_name,
        role_arn=role_arn,
        image=naming.xgboost_image_uri(region),
        hyperparameters=training_hyperparameters(settings, code_uri, region),
        metric_definitions=METRIC_DEFINITIONS,
        train_uri=f"{data_uri}/train/",
        validation_uri=f"{data_uri}/validation/",
        output_path=f"s3://{bucket}/{naming.MODELS_PREFIX}",
    )


def approval_reason(version: int) -> str:
    """The ApprovalDescription of the demo's approval, in manual approval mode."""
    return f"approved in the demo with `mlops approve {version}`"


def registration_config(settings: Settings, bucket: str, code_uri: str) -> RegistrationConfig:
    """The RegisterVersion Lambda's configuration, with the demo's bucket and code."""
    from mlops_stacks.handlers.training_run.registration import RegistrationConfig

    return RegistrationConfig(
        group=settings.model_package_group_name,
        image=naming.xgboost_image_uri(DEMO_REGION),
        serving_environment=serving_environment(settings, code_uri, DEMO_REGION),
        min_validation_auc=settings.min_validation_auc,
        approval_mode=settings.approval_mode,
        artifact_bucket=bucket,
    )


def record_and_upload_job(aws: AwsEmulator, request: dict[str, Any], model_tar: Path) -> str:
    """CreateTrainingJob on moto (completed at once, nothing written); the local artifact goes where SageMaker puts it.

    Returns the artifact's URI, `<OutputPath>/<job>/output/model.tar.gz`.
    """
    from mlops_core.aws import split_s3_uri
    from mlops_stacks.handlers.training_run.artifacts import artifact_exists

    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    sagemaker.create_training_job(**request)
    job = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    s3.upload_file(str(model_tar), *split_s3_uri(model_data_url))
    if not artifact_exists(s3, model_data_url):
        raise DemoError(f"the artifact {model_data_url} is not in the bucket after its upload")
    return model_data_url


def register_model(aws: AwsEmulator, settings: Settings, trained: TrainedModel) -> Registration:
    """Storage, registry and alerting on moto; the version is registered by the pipeline's registration code.

    The job record comes from CreateTrainingJob (moto completes it at once and writes nothing); the
    local job's model.tar.gz goes where SageMaker would upload it, `<OutputPath>/<job>/output/`.
    """
    from mlops_stacks.handlers.rollout import set_approval
    from mlops_stacks.handlers.training_run.properties import EVALUATION_FILE
    from mlops_stacks.handlers.training_run.registration import register_job_model
    from monitoring.baseline import BASELINE_FILE

    s3, sagemaker, iam = aws.client("s3"), aws.client("sagemaker"), aws.client("iam")
    account = aws.client("sts").get_caller_identity()["Account"]
    bucket = naming.bucket_name(settings.project_name, "data", account, DEMO_REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in sorted(p for p in trained.staged_data.rglob("*") if p.is_file()):
        key = f"{naming.DATA_PREFIX}/{trained.data_hash[:16]}/{path.relative_to(trained.staged_data).as_posix()}"
        s3.upload_file(str(path), bucket, key)
    role_arn = iam.create_role(
        RoleName=settings.name("sagemaker-execution"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    # The storage stack's key for the code: training reads it, the serving container downloads it.
    code_key = f"{naming.CODE_PREFIX}/{trained.code_hash[:16]}/{trained.sourcedir.name}"
    s3.upload_file(str(trained.sourcedir), bucket, code_key)

    group = settings.model_package_group_name
    sagemaker.create_model_package_group(
        ModelPackageGroupName=group,
        ModelPackageGroupDescription=f"Model versions of {settings.project_name}, gated on validation AUC",
    )
    code_uri = f"s3://{bucket}/{code_key}"
    data_prefix = f"{naming.DATA_PREFIX}/{trained.data_hash[:16]}"
    request = training_job(
        settings,
        trained.job_name,
        bucket=bucket,
        role_arn=role_arn,
        region=DEMO_REGION,
        code_uri=code_uri,
        data_prefix=data_prefix,
    )
    model_data_url = record_and_upload_job(aws, request, trained.result.model_tar)
    # From here on, the training pipeline's registration step once Train has succeeded.
    config = registration_config(settings, bucket, code_uri)
    version = register_job_model(sagemaker, s3, config, trained.job_name)
    if version.status == PENDING_MANUAL_APPROVAL:
        # Manual approval mode: the first deploy waits for a person; the demo approves as `mlops approve 1` does.
        set_approval(sagemaker, group, version.version, APPROVED, approval_reason(version.version))
        version = replace(version, status=APPROVED)
    if version.status != APPROVED:
        raise DemoError(f"model package {version.arn} is {version.status}: {version.reason}")
    package = sagemaker.describe_model_package(ModelPackageName=version.arn)

    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic_arn = sns.create_topic(Name=settings.name("alerts"))["TopicArn"]
    queue_url = sqs.create_queue(QueueName=settings.name("alerts-inbox"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    alarm_names = create_alarms(aws.client("cloudwatch"), settings, topic_arn)
    return Registration(
        endpoint_url=aws.endpoint_url,
        account=account,
        region=DEMO_REGION,
        bucket=bucket,
        group=group,
        role_arn=role_arn,
        code_uri=code_uri,
        package=package,
        model_data_url=model_data_url,
        baseline_uri=config.registry_uri(trained.job_name, BASELINE_FILE),
        evaluation_uri=config.registry_uri(trained.job_name, EVALUATION_FILE),
        topic_arn=topic_arn,
        queue_url=queue_url,
        alarm_names=alarm_names,
    )
