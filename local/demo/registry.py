"""Step 3: storage, registry and alerting on moto; the version is registered by the TrainingRun's own functions."""

from __future__ import annotations

import json

from local.demo.alarms import create_alarms
from local.demo.emulator import DEMO_REGION, AwsEmulator
from local.demo.results import Registration, TrainedModel
from local.demo.steps import DemoError
from mlops_core import naming
from mlops_core.sagemaker_inputs import project_tags, serving_environment, training_hyperparameters
from mlops_core.settings import Settings


def training_run_properties(
    settings: Settings, trained: TrainedModel, *, bucket: str, role_arn: str, region: str, code_uri: str
) -> dict[str, str]:
    """The TrainingRun custom resource's properties as CloudFormation would pass them, with local values."""
    from model_code.metric_definitions import METRIC_DEFINITIONS

    data_prefix = f"s3://{bucket}/{naming.DATA_PREFIX}/{trained.data_hash[:16]}"
    hyperparameters = training_hyperparameters(settings, code_uri, region)
    serving = serving_environment(settings, code_uri, region, trained.job_name)
    return {
        "JobName": trained.job_name,
        "RoleArn": role_arn,
        "TrainingImage": naming.xgboost_image_uri(region),
        "InstanceType": settings.training_instance_type,
        "VolumeSizeGB": str(naming.TRAINING_VOLUME_GB),
        "MaxRuntimeSeconds": str(settings.training_max_runtime_minutes * 60),
        "DeadlineSeconds": str(naming.DEADLINE_SECONDS),
        "HyperParameters": json.dumps(hyperparameters),
        "MetricDefinitions": json.dumps(METRIC_DEFINITIONS),
        "TrainChannelUri": f"{data_prefix}/train/",
        "ValidationChannelUri": f"{data_prefix}/validation/",
        "OutputPath": f"s3://{bucket}/{naming.MODELS_PREFIX}",
        "ModelPackageGroupName": settings.model_package_group_name,
        "MinValidationAuc": str(settings.min_validation_auc),
        "ServingEnvironment": json.dumps(serving),
        "ArtifactBucket": bucket,
        "ArtifactPrefix": naming.REGISTRY_PREFIX,
        "Tags": json.dumps(project_tags(settings), sort_keys=True),
    }


def register_model(aws: AwsEmulator, settings: Settings, trained: TrainedModel) -> Registration:
    """Storage, registry and alerting on moto; the version is registered by the TrainingRun's functions.

    The job record comes from CreateTrainingJob (moto completes it at once and writes nothing); the
    local job's model.tar.gz goes where SageMaker would upload it, `<OutputPath>/<job>/output/`.
    """
    from mlops_core.aws import split_s3_uri
    from mlops_stacks.handlers.training_run.artifacts import (
        artifact_exists,
        publish_registry_files,
        read_registry_files,
    )
    from mlops_stacks.handlers.training_run.jobs import start_training_job
    from mlops_stacks.handlers.training_run.properties import TrainingRunProperties
    from mlops_stacks.handlers.training_run.versions import is_approved, register_model_version

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
    raw = training_run_properties(
        settings, trained, bucket=bucket, role_arn=role_arn, region=DEMO_REGION, code_uri=f"s3://{bucket}/{code_key}"
    )
    props = TrainingRunProperties.from_resource_properties(raw)
    job, _ = start_training_job(sagemaker, props)
    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    s3.upload_file(str(trained.result.model_tar), *split_s3_uri(model_data_url))
    if not artifact_exists(s3, model_data_url):
        raise DemoError(f"the artifact {model_data_url} is not in the bucket after its upload")
    # From here on, the TrainingRun's isComplete sequence once the job has completed.
    files = read_registry_files(s3, model_data_url)
    files.baseline_json()
    publish_registry_files(s3, props, files)
    package = register_model_version(
        sagemaker,
        props,
        model_data_url=model_data_url,
        files=files,
        decision=trained.decision,
        job_created=job["CreationTime"],
    )
    if not is_approved(package):
        raise DemoError(f"model package {package['ModelPackageArn']} is {package.get('ModelApprovalStatus')}")

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
        package=package,
        model_data_url=model_data_url,
        baseline_uri=props.baseline_uri,
        evaluation_uri=props.evaluation_uri,
        topic_arn=topic_arn,
        queue_url=queue_url,
        alarm_names=alarm_names,
    )
