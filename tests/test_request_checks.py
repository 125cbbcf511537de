"""The request checker: requests that AWS refuses are refused where moto stands in, with AWS's own words."""

from __future__ import annotations

import contextlib
import html
import math
import re
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.demo.emulator import AwsEmulator
from local.demo.steps import DemoError
from local.request_checks import RequestChecker, RequestViolationsError
from local.request_checks.documented_rules import RULES
from local.request_checks.shape_constraints import compiled_pattern
from mlops_stacks.handlers.training_run.clients import process_clients
from tests.aws_fixtures import checked_boto3

REGION = "us-east-1"
GROUP = "churn-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
SPEC = {
    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/models/job/output/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["application/json"],
}


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[RequestChecker]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), checked_boto3() as checker:
        yield checker


def refusal(checker: RequestChecker, call: Any, **params: Any) -> str:
    """The message of the ValidationException `call(**params)` gets; the violation is taken."""
    with pytest.raises(ClientError) as refused:
        call(**params)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    (_violation,) = checker.take_violations()
    return str(refused.value)


# --- documented rules --------------------------------------------------------------------------


def test_a_model_package_with_tags_and_a_group_is_refused_with_the_documented_rule(checked: RequestChecker) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)

    message = refusal(
        checked,
        sagemaker.create_model_package,
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification=SPEC,
        Tags=[{"Key": "project", "Value": "churn"}],
    )

    assert "Tags given with ModelPackageGroupName 'churn-models'" in message
    assert "In this case, you cannot supply a tag argument." in message
    assert "(botocore sagemaker CreateModelPackageInput.Tags)" in message
    # moto would have created it: nothing reached moto.
    listed = sagemaker.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="Versioned")
    assert listed["ModelPackageSummaryList"] == []
    # Without the tags, the same request is what SageMaker accepts.
    sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved", InferenceSpecification=SPEC
    )


def test_a_group_listing_without_the_versioned_type_is_refused(checked: RequestChecker) -> None:
    sagemaker = boto3.client("sagemaker")
    message = refusal(checked, sagemaker.list_model_packages, ModelPackageGroupName=GROUP)
    assert "This is the default value if no ModelPackageType is specified." in message


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "logs",
            "describe_log_streams",
            {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": "job/", "orderBy": "LastEventTime"},
            "If orderBy is LastEventTime , you cannot specify this parameter.",
        ),
        (
            "logs",
            "get_log_events",
            {"logGroupName": "g", "logGroupIdentifier": "g", "logStreamName": "s"},
            "logGroupName and logGroupIdentifier given together",
        ),
        (
            "cloudwatch",
            "put_metric_data",
            {"Namespace": "MLOps/Drift", "MetricData": [{"MetricName": "PSI", "Value": math.inf}]},
            "metric 'PSI' has the value inf",
        ),
        (
            "cloudwatch",
            "put_metric_alarm",
            {
                "AlarmName": "a",
                "MetricName": "ModelLatency",
                "Namespace": "AWS/SageMaker",
                "Statistic": "Average",
                "Period": 300,
                "EvaluationPeriods": 300,
                "Threshold": 1.0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
            "Period 300 × EvaluationPeriods 300 = 90000 s",
        ),
        (
            "sagemaker",
            "create_endpoint_config",
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "m",
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1, "ProvisionedConcurrency": 2},
                    }
                ],
            },
            "provisions 2 of MaxConcurrency 1",
        ),
        (
            "sns",
            "publish",
            {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m", "Subject": "drift\nalert"},
            "Subjects must be UTF-8 text with no line breaks",
        ),
        (
            "s3",
            "delete_objects",
            {"Bucket": "b", "Delete": {"Objects": [{"Key": "k"}], "Quiet": False}},
            "When you add this element, you must set its value to true .",
        ),
    ],
)
def test_documented_cross_field_rules_refuse_what_moto_accepts(
    checked: RequestChecker, service: str, operation: str, params: dict[str, Any], expected: str
) -> None:
    client = boto3.client(service)
    assert expected in refusal(checked, getattr(client, operation), **params)


def _documentation(service: str, source: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    if source in model.operation_names:
        raw = model.operation_model(source).documentation
    else:
        shape, member = source.split(".")
        raw = model.shape_for(shape).members[member].documentation
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.service}:{rule.source}")
def test_every_rule_quotes_the_botocore_documentation_it_cites(rule: Any) -> None:
    model = botocore.session.get_session().get_service_model(rule.service)
    assert set(rule.operations) <= set(model.operation_names)
    assert " ".join(rule.text.split()) in _documentation(rule.service, rule.source)


# --- the model's own constraints ---------------------------------------------------------------


def test_patterns_maximum_lengths_and_map_minimums_of_the_model_are_enforced(checked: RequestChecker) -> None:
    sagemaker = boto3.client("sagemaker")
    assert "Member must satisfy regular expression pattern" in refusal(
        checked, sagemaker.describe_training_job, TrainingJobName="churn_3f2a"
    )
    assert "Member must have length less than or equal to 1024" in refusal(
        checked,
        sagemaker.create_model_package_group,
        ModelPackageGroupName=GROUP,
        ModelPackageGroupDescription="x" * 1025,
    )
    assert (
        "'CustomerMetadataProperties' failed to satisfy constraint: Member must have length greater than or equal to 1"
        in (
            refusal(
                checked,
                sagemaker.create_model_package,
                ModelPackageGroupName=GROUP,
                InferenceSpecification=SPEC,
                CustomerMetadataProperties={},
            )
        )
    )


def test_enum_values_nested_in_a_request_are_checked_and_every_violation_is_named(checked: RequestChecker) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    at = "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes.2"
    message = refusal(
        checked,
        sagemaker.create_model_package,
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="approved",
        InferenceSpecification={**SPEC, "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.huge"]},
    )
    assert re.search(rf"2 validation errors.*'approved' at 'ModelApprovalStatus'.*'ml\.m5\.huge' at '{at}'", message)
    listed = sagemaker.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="Versioned")
    assert listed["ModelPackageSummaryList"] == []


def test_java_patterns_of_the_model_read_unicode_classes_as_aws_does() -> None:
    description = compiled_pattern(r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*")
    assert description.fullmatch("Trainingsjob für Kündigungen: AUC 0.91 ≥ 0.75")
    assert not description.fullmatch("two\nlines")
    # Java writes the supplementary planes as a surrogate-pair range.
    catalog = compiled_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert catalog.fullmatch("capture 😀") and not catalog.fullmatch("bell\x07")


# --- wiring ------------------------------------------------------------------------------------


def test_a_refused_request_that_the_caller_swallowed_still_fails_the_check(checked: RequestChecker) -> None:
    sagemaker = boto3.client("sagemaker")
    with contextlib.suppress(ClientError):
        sagemaker.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="VERSIONED")
    with pytest.raises(
        RequestViolationsError, match=r"Value 'VERSIONED' at 'ModelPackageType'.*\[Versioned, Unversioned, Both\]"
    ):
        checked.assert_clean()
    checked.assert_clean()


def test_the_clients_a_lambda_makes_for_itself_are_checked_too(checked: RequestChecker) -> None:
    process_clients.cache_clear()
    try:
        message = refusal(
            checked,
            process_clients().sagemaker.list_model_packages,
            ModelPackageGroupName=GROUP,
            ModelPackageType="VERSIONED",
        )
    finally:
        process_clients.cache_clear()
    assert "Value 'VERSIONED' at 'ModelPackageType'" in message and "[Versioned, Unversioned, Both]" in message


def test_the_demos_clients_are_checked_and_a_swallowed_refusal_fails_the_demo() -> None:
    with pytest.raises(DemoError, match="AWS would refuse these requests"), AwsEmulator() as aws:
        sagemaker = aws.client("sagemaker")
        with pytest.raises(ClientError, match="you cannot supply a tag argument"):
            sagemaker.create_model_package(
                ModelPackageGroupName=GROUP, InferenceSpecification=SPEC, Tags=[{"Key": "k", "Value": "v"}]
            )
