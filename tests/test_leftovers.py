"""`mlops leftovers` against moto: what a destroy left behind is listed, other projects' things are not."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_cli.cleanup_verbs import project_name, register
from monitoring.tools.leftovers import TRAINING_LOG_GROUP, Leftover, LeftoverScanError, find_leftovers, format_leftovers
from tests.aws_fixtures import checked_boto3

REGION = "eu-west-1"
PROJECT = "demo-proj"
OTHER = "other-proj"
TAGS = {"project": PROJECT, "cost-center": "ml-platform"}


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(), checked_boto3() as checker:
        checked = boto3.Session(region_name=REGION)
        checker.register(checked.events)
        yield checked


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlops")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def kinds_and_names(items: list[Leftover]) -> set[tuple[str, str]]:
    return {(item.kind, item.name) for item in items}


def create_model_package_group(session: boto3.Session, name: str, versions: int) -> None:
    sagemaker = session.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    for _ in range(versions):
        sagemaker.create_model_package(
            ModelPackageGroupName=name,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": "123.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )


def test_an_account_without_our_resources_has_no_leftovers_even_with_another_projects_things(session):
    session.client("s3").create_bucket(
        Bucket=f"{OTHER}-storage-artifacts", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    session.client("sqs").create_queue(QueueName="q", tags={"project": OTHER})
    session.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{OTHER}-endpoint")
    create_model_package_group(session, f"{OTHER}-models", versions=1)
    # A name that merely contains ours is not ours: the prefix is `<project>-`.
    session.client("s3").create_bucket(
        Bucket=f"x{PROJECT}-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )

    assert find_leftovers(session, PROJECT) == []


def test_tagged_resources_are_found_through_the_tagging_api(session):
    queue_url = session.client("sqs").create_queue(QueueName="capture-failures", tags=TAGS)["QueueUrl"]
    topic_arn = session.client("sns").create_topic(
        Name="alerts", Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()]
    )["TopicArn"]

    items = find_leftovers(session, PROJECT)

    assert {item.arn for item in items} == {
        topic_arn,
        f"arn:aws:sqs:{REGION}:123456789012:{queue_url.rsplit('/', 1)[1]}",
    }
    assert {item.kind for item in items} == {"tagged sns", "tagged sqs"}


def test_tagged_resources_beyond_one_page_are_all_listed(session):
    # The tagging API returns 50 resources a page (moto, like AWS), so 60 needs a second page.
    sqs = session.client("sqs")
    for i in range(60):
        sqs.create_queue(QueueName=f"queue-{i:02d}", tags=TAGS)

    items = find_leftovers(session, PROJECT)

    assert len(items) == 60
    assert {item.name for item in items} == {f"queue-{i:02d}" for i in range(60)}


def test_what_tags_miss_is_found_by_the_project_prefix(session):
    logs = session.client("logs")
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{PROJECT}-endpoint")
    logs.create_log_group(logGroupName=f"/aws/lambda/{PROJECT}-endpoint-CaptureWriter1234")
    logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
    logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=f"{PROJECT}-0123456789ab/algo-1-1764150000")
    logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=f"{OTHER}-ba9876543210/algo-1-1764150000")
    create_model_package_group(session, f"{PROJECT}-models", versions=2)
    session.client("s3").create_bucket(
        Bucket=f"{PROJECT}-storage-artifacts1a2b3c", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    session.client("glue").create_database(DatabaseInput={"Name": "demo_proj_capture"})
    session.client("glue").create_database(DatabaseInput={"Name": "other_proj_capture"})
    session.client("athena").create_work_group(Name=f"{PROJECT}-drift")
    session.client("ssm").put_parameter(
        Name=f"/{PROJECT}/approved-model-package-arn", Value="arn:aws:sagemaker:x", Type="String"
    )
    session.client("ssm").put_parameter(Name=f"/{OTHER}/approved-model-package-arn", Value="x", Type="String")

    items = find_leftovers(session, PROJECT)

    assert kinds_and_names(items) == {
        ("log group", f"/aws/sagemaker/Endpoints/{PROJECT}-endpoint"),
        ("log group", f"/aws/lambda/{PROJECT}-endpoint-CaptureWriter1234"),
        ("log stream", f"{TRAINING_LOG_GROUP}/{PROJECT}-0123456789ab/algo-1-1764150000"),
        ("model package group", f"{PROJECT}-models"),
        ("bucket", f"{PROJECT}-storage-artifacts1a2b3c"),
        ("glue database", "demo_proj_capture"),
        ("athena workgroup", f"{PROJECT}-drift"),
        ("ssm parameter", f"/{PROJECT}/approved-model-package-arn"),
    }
    (group,) = [item for item in items if item.kind == "model package group"]
    assert group.detail == "2 versions"


def test_training_log_streams_beyond_one_page_are_all_listed(session):
    logs = session.client("logs")
    logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
    for i in range(55):  # DescribeLogStreams returns at most 50 a page
        logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=f"{PROJECT}-{i:012d}/algo-1-1")

    items = find_leftovers(session, PROJECT)

    assert len([item for item in items if item.kind == "log stream"]) == 55


def test_a_resource_found_by_tag_and_by_name_is_listed_once_under_its_specific_kind(session):
    s3 = session.client("s3")
    name = f"{PROJECT}-storage-accesslogs9f8e7d"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in TAGS.items()]})

    items = find_leftovers(session, PROJECT)

    assert items == [Leftover("bucket", name, f"arn:aws:s3:::{name}")]


def test_endpoints_and_finished_training_jobs_are_told_apart(session):
    sagemaker = session.client("sagemaker")
    role = "arn:aws:iam::123456789012:role/sm"
    image = "123.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    sagemaker.create_model(ModelName=f"{PROJECT}-model", ExecutionRoleArn=role, PrimaryContainer={"Image": image})
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{PROJECT}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{PROJECT}-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=f"{PROJECT}-endpoint", EndpointConfigName=f"{PROJECT}-config")
    # moto completes a training job at once: a finished job costs nothing and is not a leftover.
    sagemaker.create_training_job(
        TrainingJobName=f"{PROJECT}-0123456789ab",
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn=role,
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )

    items = find_leftovers(session, PROJECT)

    assert kinds_and_names(items) == {
        ("endpoint", f"{PROJECT}-endpoint"),
        ("endpoint config", f"{PROJECT}-config"),
        ("model", f"{PROJECT}-model"),
    }


def test_what_outlives_every_destroy_is_not_a_leftover_and_the_report_says_so(session):
    image = "123.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    # A finished job stays listed and tagged forever: SageMaker has no DeleteTrainingJob.
    session.client("sagemaker").create_training_job(
        TrainingJobName=f"{PROJECT}-0123456789ab",
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/sm",
        OutputDataConfig={"S3OutputPath": "s3://b/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )
    kms = session.client("kms")
    tags = [{"TagKey": k, "TagValue": v} for k, v in TAGS.items()]
    deleting = kms.create_key(Description="alerts", Tags=tags)["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=deleting["KeyId"], PendingWindowInDays=7)
    kept = kms.create_key(Description="still in use", Tags=tags)["KeyMetadata"]

    items = find_leftovers(session, PROJECT)

    assert [(item.kind, item.arn) for item in items] == [("tagged kms:key", kept["Arn"])]
    kms.schedule_key_deletion(KeyId=kept["KeyId"], PendingWindowInDays=7)
    assert find_leftovers(session, PROJECT) == []
    assert "not counted: finished training jobs" in format_leftovers([])
    assert "KMS keys pending deletion" in format_leftovers([])


def test_a_failing_listing_is_an_error_not_a_clean_account(session, monkeypatch):
    def denied(*args, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetDatabases")

    real_client = session.client

    def client(name, *args, **kwargs):
        made = real_client(name, *args, **kwargs)
        if name == "glue":
            monkeypatch.setattr(made, "get_paginator", lambda operation: denied())
        return made

    monkeypatch.setattr(session, "client", client)

    with pytest.raises(LeftoverScanError, match=r"glue_databases failed.*AccessDenied"):
        find_leftovers(session, PROJECT)


def test_the_verb_exits_1_and_prints_what_is_left(session, capsys):
    session.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{PROJECT}-endpoint")

    code = run_cli(["leftovers", "--region", REGION, "--project", PROJECT])

    out = capsys.readouterr().out
    assert code == 1
    assert f"{PROJECT} in {REGION}: 1 resource(s) left" in out
    assert f"/aws/sagemaker/Endpoints/{PROJECT}-endpoint" in out


def test_the_verb_exits_0_on_a_clean_account_and_speaks_json(session, capsys):
    session.client("logs").create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{OTHER}-endpoint")

    code = run_cli(["leftovers", "--region", REGION, "--project", PROJECT, "--json"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == []


def test_the_verb_exits_2_with_a_message_when_it_cannot_check(session, capsys):
    code = run_cli(["leftovers", "--region", REGION, "--project", "Bad_Name"])

    assert code == 2
    assert "project_name" in capsys.readouterr().err


def test_the_project_defaults_to_the_one_in_cdk_json(tmp_path: Path):
    cdk_json = tmp_path / "cdk.json"
    assert project_name(None, cdk_json) == "mlops-showcase"  # no cdk.json: the settings default
    cdk_json.write_text(json.dumps({"app": "python app.py", "context": {"project_name": "churn-prod"}}))
    assert project_name(None, cdk_json) == "churn-prod"
    assert project_name("explicit-one", cdk_json) == "explicit-one"
    cdk_json.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        project_name(None, cdk_json)


def test_resources_of_a_stack_kept_on_purpose_are_not_leftovers(session, capsys):
    template = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": "kept-queue", "Tags": [{"Key": "project", "Value": PROJECT}]},
            },
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/aws/lambda/{PROJECT}-kept"}},
        }
    }
    session.client("cloudformation").create_stack(StackName=f"{PROJECT}-github-oidc", TemplateBody=json.dumps(template))
    session.client("sqs").create_queue(QueueName="stray-queue", tags=TAGS)

    everything = find_leftovers(session, PROJECT)
    kept = find_leftovers(session, PROJECT, keep_stacks=[f"{PROJECT}-github-oidc", f"{PROJECT}-never-deployed"])

    assert {item.name for item in everything} == {"kept-queue", "stray-queue", f"/aws/lambda/{PROJECT}-kept"}
    assert [item.name for item in kept] == ["stray-queue"]
    code = run_cli(["leftovers", "--region", REGION, "--project", PROJECT, "--keep-stack", f"{PROJECT}-github-oidc"])
    assert code == 1
    assert "kept-queue" not in capsys.readouterr().out
