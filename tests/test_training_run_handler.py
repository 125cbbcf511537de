"""The TrainingRun custom resource handlers, driven as the Provider framework drives them, on moto.

moto stands in for SageMaker, S3 and CloudWatch Logs. Where moto differs from the real API, the
`mocked_aws` fixture teaches it the real behaviour (and says so): CreateTrainingJob answers
ResourceInUse for a name that exists (moto silently replaces the job), and StopTrainingJob and
DeleteModelPackage exist (moto 5.2.5 does not implement them). Job states that only time produces
in AWS (in progress, failed, stopped, old, a version still Deleting) are set in moto's backend.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from local.request_checks import RequestChecker
from mlops_stacks.handlers.training_run import delete, handler, is_complete, on_event
from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from mlops_stacks.handlers.training_run.errors import PropertyError, TrainingRunError
from mlops_stacks.handlers.training_run.handler import MAX_MESSAGE_BYTES
from mlops_stacks.handlers.training_run.versions import registration_key
from model_code.failure_reason import reason_line
from tests.aws_fixtures import checked_boto3

REGION = "us-east-1"
BUCKET = "churn-data-123456789012"
GROUP = "churn-models"
JOB = "churn-3f2a9c1d4e5b"
NEXT_JOB = "churn-77aa00bb11cc"
TRAINING_LOGS = "/aws/sagemaker/TrainingJobs"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
SOURCEDIR = f"s3://{BUCKET}/code/sourcedir.tar.gz"


# --- moto, taught the real API where it differs ---------------------------------------------


def _backend() -> SageMakerModelBackend:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


def _unique_create_training_job(original: Any) -> Any:
    def create(self: SageMakerModelBackend, training_job_name: str, **kwargs: Any) -> Any:
        if training_job_name in self.training_jobs:
            arn = self.training_jobs[training_job_name].arn
            raise ResourceInUseException(
                "Training job names must be unique within an AWS account and region, and a training "
                f"job with this name already exists ({arn})"
            )
        return original(self, training_job_name=training_job_name, **kwargs)

    return create


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("TrainingJobName")
    job = self.sagemaker_backend.training_jobs.get(name)
    if job is None:
        raise ResourceNotFound(f"Training job {name} does not exist.")
    if job.training_job_status != "InProgress":
        raise ValidationError(
            f"The request was rejected because the training job is in status {job.training_job_status}."
        )
    job.training_job_status = job.secondary_status = "Stopping"
    return EmptyResult()


# Versions whose deletion SageMaker has accepted but not finished: they stay listed as Deleting
# until a test removes them from the backend (DeleteModelPackage is asynchronous).
SLOW_DELETES: set[str] = set()


def _delete_model_package(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("ModelPackageName")
    backend = self.sagemaker_backend
    arn = backend.model_package_name_mapping.get(name, name)
    if arn in SLOW_DELETES and arn in backend.model_packages:
        backend.model_packages[arn].model_package_status = "Deleting"
        return EmptyResult()
    if backend.model_packages.pop(arn, None) is None:
        raise ValidationError(f"Model package {name} does not exist.")
    return EmptyResult()


@dataclass
class Aws:
    s3: Any
    sagemaker: Any
    logs: Any
    checker: RequestChecker | None = None


@pytest.fixture(scope="module")
def mocked_aws() -> Any:
    """One mock for the module (creating clients costs more than a test); `aws` resets it per test.

    Every client, the handlers' included, checks enum parameters as the real APIs do (moto does not).
    """
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(key, value)
        patch.setattr(
            SageMakerModelBackend,
            "create_training_job",
            _unique_create_training_job(SageMakerModelBackend.create_training_job),
        )
        patch.setattr(SageMakerResponse, "stop_training_job", _stop_training_job, raising=False)
        patch.setattr(SageMakerResponse, "delete_model_package", _delete_model_package, raising=False)
        handler.process_clients.cache_clear()
        with mock_aws() as mock, checked_boto3() as checker:
            clients = Aws(s3=boto3.client("s3"), sagemaker=boto3.client("sagemaker"), logs=boto3.client("logs"))
            clients.checker = checker
            yield mock, clients
        handler.process_clients.cache_clear()


@pytest.fixture
def aws(mocked_aws: tuple[Any, Aws]) -> Iterator[Aws]:
    """An empty account with the project's bucket and model package group; AWS would refuse no request."""
    mock, clients = mocked_aws
    mock.reset()
    SLOW_DELETES.clear()
    clients.s3.create_bucket(Bucket=BUCKET)
    clients.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    yield clients
    assert clients.checker is not None
    clients.checker.assert_clean()


def set_job(
    name: str,
    status: str,
    *,
    secondary: str | None = None,
    failure_reason: str | None = None,
    age: timedelta | None = None,
) -> None:
    """Put a job into a state that only time produces in AWS."""
    job = _backend().training_jobs[name]
    job.training_job_status = status
    job.secondary_status = secondary or status
    if failure_reason is not None:
        job.failure_reason = failure_reason
    if age is not None:
        job.creation_time = datetime.now(UTC) - age


def job_status(name: str) -> str:
    return _backend().training_jobs[name].training_job_status


# --- CloudFormation events, as the Provider framework passes them ------------------------------


def properties(job_name: str = JOB, **overrides: str) -> dict[str, str]:
    """Resource properties as the TrainingRun construct renders them: all strings."""
    environment = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": SOURCEDIR,
        "SAGEMAKER_REGION": REGION,
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json",
        "MLOPS_CAPTURE_PERCENT": "100",
        "MLOPS_MODEL_ID": job_name,
    }
    hyperparameters = {
        "max_depth": "4",
        "eta": "0.1",
        "sagemaker_program": json.dumps("train.py"),
        "sagemaker_submit_directory": json.dumps(SOURCEDIR),
        "sagemaker_region": json.dumps(REGION),
        "sagemaker_container_log_level": "20",
    }
    props = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:provider",
        "JobName": job_name,
        "RoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/churn-sagemaker-execution",
        "TrainingImage": IMAGE,
        "InstanceType": "ml.m5.large",
        "VolumeSizeGB": "10",
        "MaxRuntimeSeconds": "1800",
        "DeadlineSeconds": "3120",
        "HyperParameters": json.dumps(hyperparameters),
        "MetricDefinitions": json.dumps([{"Name": "validation:auc", "Regex": "validation-auc=([0-9.]+)"}]),
        "TrainChannelUri": f"s3://{BUCKET}/data/train/",
        "ValidationChannelUri": f"s3://{BUCKET}/data/validation/",
        "OutputPath": f"s3://{BUCKET}/models",
        "ModelPackageGroupName": GROUP,
        "MinValidationAuc": "0.75",
        "ServingEnvironment": json.dumps(environment),
        "ArtifactBucket": BUCKET,
        "ArtifactPrefix": "registry",
        "Tags": json.dumps({"cost-center": "ml-platform", "project": "churn"}),
    }
    props.update(overrides)
    return props


def cfn_event(request: str, props: dict[str, str], *, old: dict[str, str] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": props["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response.example/…",
        "StackId": f"arn:aws:cloudformation:{REGION}:{DEFAULT_ACCOUNT_ID}:stack/Registry/1",
        "RequestId": "c0ffee",
        "LogicalResourceId": "TrainingRunResource",
        "ResourceType": "Custom::TrainingRun",
        "ResourceProperties": props,
    }
    if request != "Create":
        event["PhysicalResourceId"] = f"{GROUP}-training-run"
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def start(request: str, props: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    """Call onEvent and build the event isComplete receives (the framework merges the two)."""
    event = cfn_event(request, props, **kwargs)
    return {**event, **on_event(event, None)}


def evaluation_doc(auc: float) -> dict[str, Any]:
    return {
        "validation": {"auc": auc, "accuracy": 0.83, "log_loss": 0.39, "f1": 0.61},
        "best_iteration": 87,
        "n_train": 16000,
        "n_validation": 4000,
        "hyperparameters": {"max_depth": 4, "eta": 0.1},
    }


BASELINE = {
    "version": 1,
    "n_rows": 16000,
    "features": [
        {
            "name": "tenure_months",
            "edges": [3.0, 12.0, 30.0],
            "shares": [0.2, 0.3, 0.3, 0.2],
            "mean": 24.1,
            "std": 17.9,
            "min": 0.0,
            "max": 72.0,
            "range": [0.0, 72.0],
        }
    ],
    "score": {
        "name": "prediction_score",
        "edges": [0.2, 0.5],
        "shares": [0.5, 0.3, 0.2],
        "mean": 0.3,
        "std": 0.2,
        "min": 0.01,
        "max": 0.99,
        "range": [0.0, 1.0],
    },
}


def model_tar(files: dict[str, bytes]) -> bytes:
    """A model.tar.gz as SageMaker uploads it: the model directory's files at the root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload_model(aws: Aws, job_name: str = JOB, *, auc: float = 0.91, files: dict[str, bytes] | None = None) -> bytes:
    """Write the job's model.tar.gz where SageMaker would (moto's jobs write none)."""
    if files is None:
        # An incompressible model in front, so the registry files sit behind a megabyte of stream.
        model = random.Random(7).randbytes(1 << 20)
        files = {
            "model.ubj": model,
            "schema.json": b'{"label": "churned", "features": []}',
            "baseline.json": json.dumps(BASELINE).encode(),
            "evaluation.json": json.dumps(evaluation_doc(auc)).encode(),
        }
    body = model_tar(files)
    aws.s3.put_object(Bucket=BUCKET, Key=f"models/{job_name}/output/model.tar.gz", Body=body)
    return body


def deploy(aws: Aws, props: dict[str, str], request: str = "Create", *, auc: float = 0.91) -> dict[str, Any]:
    """A whole successful create or update: start, the job completes with a model, register."""
    event = start(request, props)
    upload_model(aws, props["JobName"], auc=auc)
    return {**event, **is_complete(event, None)}


def packages(aws: Aws) -> list[dict[str, Any]]:
    summaries = aws.sagemaker.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="Versioned")[
        "ModelPackageSummaryList"
    ]
    return [aws.sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


def training_job_names(aws: Aws) -> list[str]:
    return sorted(s["TrainingJobName"] for s in aws.sagemaker.list_training_jobs()["TrainingJobSummaries"])


def start_foreign_job(aws: Aws, name: str, output_path: str) -> None:
    """A job that CloudFormation did not start through this resource (another stage, a cancelled update)."""
    aws.sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/other",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": output_path},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    set_job(name, "InProgress", secondary="Training")


# --- create, update, retry ---------------------------------------------------------------------


def test_create_starts_the_training_job_with_a_stable_physical_id(aws: Aws) -> None:
    result = on_event(cfn_event("Create", properties()), None)

    assert result == {"PhysicalResourceId": f"{GROUP}-training-run", "Data": {"JobName": JOB}}
    job = aws.sagemaker.describe_training_job(TrainingJobName=JOB)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["RoleArn"].endswith(":role/churn-sagemaker-execution")
    assert job["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert job["HyperParameters"]["sagemaker_job_name"] == json.dumps(JOB)
    assert job["HyperParameters"]["max_depth"] == "4"
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]} == {
        "train": f"s3://{BUCKET}/data/train/",
        "validation": f"s3://{BUCKET}/data/validation/",
    }
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/models"
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10}
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    tags = aws.sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"cost-center": "ml-platform", "project": "churn"}


class RecordingClient:
    """A boto3 client that notes the name of every operation called on it."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.client, name)


def test_the_handlers_use_the_clients_they_are_given_and_make_none_of_their_own(aws: Aws) -> None:
    handler.process_clients.cache_clear()
    sagemaker = RecordingClient(aws.sagemaker)
    given = TrainingRunClients(sagemaker=sagemaker, s3=aws.s3, logs=aws.logs)

    event = cfn_event("Create", properties())
    polled = is_complete({**event, **on_event(event, None, clients=given)}, None, clients=given)

    assert polled == {"IsComplete": False}  # moto's job has no artifact yet
    assert {"create_training_job", "describe_training_job"} <= set(sagemaker.calls)
    assert handler.process_clients.cache_info().currsize == 0


def test_a_retried_create_reuses_the_job_it_already_started(aws: Aws) -> None:
    on_event(cfn_event("Create", properties()), None)
    set_job(JOB, "InProgress", secondary="Training")
    first = _backend().training_jobs[JOB]

    again = on_event(cfn_event("Create", properties()), None)

    assert training_job_names(aws) == [JOB]
    assert _backend().training_jobs[JOB] is first
    assert job_status(JOB) == "InProgress"
    assert again["PhysicalResourceId"] == f"{GROUP}-training-run"


def test_an_update_with_a_new_job_name_trains_again_under_the_same_physical_id(aws: Aws) -> None:
    created = deploy(aws, properties())

    updated = deploy(aws, properties(NEXT_JOB), "Update")

    assert training_job_names(aws) == sorted([JOB, NEXT_JOB])
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"] == f"{GROUP}-training-run"
    assert updated["Data"]["JobName"] == NEXT_JOB
    assert updated["Data"]["ModelPackageArn"] != created["Data"]["ModelPackageArn"]
    assert len(packages(aws)) == 2


def test_an_update_that_keeps_the_job_name_starts_no_job_and_registers_nothing_new(aws: Aws) -> None:
    created = deploy(aws, properties())
    job = _backend().training_jobs[JOB]

    # Only the tags changed: the job name (a hash of data, code and hyperparameters) did not.
    props = properties(Tags=json.dumps({"cost-center": "finance", "project": "churn"}))
    updated = deploy(aws, props, "Update")

    assert training_job_names(aws) == [JOB]
    assert _backend().training_jobs[JOB] is job
    assert updated["Data"]["ModelPackageArn"] == created["Data"]["ModelPackageArn"]
    assert len(packages(aws)) == 1


def test_a_rollback_to_the_old_properties_stops_the_abandoned_job_and_reuses_the_old_model(aws: Aws) -> None:
    created = deploy(aws, properties())
    start("Update", properties(NEXT_JOB))
    set_job(NEXT_JOB, "InProgress", secondary="Training")

    # The update was cancelled; CloudFormation rolls back with the old properties.
    rolled_back = start("Update", properties(), old=properties(NEXT_JOB))
    result = is_complete(rolled_back, None)

    assert training_job_names(aws) == sorted([JOB, NEXT_JOB])
    assert job_status(NEXT_JOB) == "Stopping"
    assert result["Data"]["ModelPackageArn"] == created["Data"]["ModelPackageArn"]


def test_a_job_name_taken_by_another_deployment_is_refused(aws: Aws) -> None:
    start_foreign_job(aws, JOB, "s3://another-stage-bucket/models")

    with pytest.raises(TrainingRunError, match=r"churn-3f2a9c1d4e5b already exists but writes to s3://another"):
        on_event(cfn_event("Create", properties()), None)


# --- waiting for the job -------------------------------------------------------------------------


def test_a_running_job_is_not_complete_and_returns_no_data(aws: Aws) -> None:
    event = start("Create", properties())
    set_job(JOB, "InProgress", secondary="Training", age=timedelta(minutes=10))

    assert is_complete(event, None) == {"IsComplete": False}


def test_a_failed_job_fails_the_deploy_at_the_first_poll_with_sagemakers_reason(aws: Aws) -> None:
    event = start("Create", properties(TrainingLogGroup=TRAINING_LOGS))
    reason = "AlgorithmError: ExecuteUserScriptError: ValueError: label column 'churned' not found. ".ljust(1024, "x")
    set_job(JOB, "Failed", failure_reason=reason)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert f"training job {JOB} Failed" in message
    assert "label column 'churned' not found" in message
    assert f"See the log group {TRAINING_LOGS}, stream {JOB}/*" in message
    # SageMaker's 1024-character reason is cut so that the CloudFormation response fits in 4 KB.
    assert "x" * 800 not in message
    assert "xxx…" in message
    assert len(message.encode()) <= MAX_MESSAGE_BYTES


def test_a_failure_reason_in_any_script_keeps_the_response_within_its_byte_limit(aws: Aws) -> None:
    event = start("Create", properties())
    # 1024 characters of three-byte script: the reason alone is 3 KB.
    set_job(JOB, "Failed", failure_reason=("ValueError: Spalte ungültig – " + "列が見つかりません" * 120)[:1024])

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert message.startswith(f"training job {JOB} Failed (Failed): ValueError: Spalte ungültig")
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert "…" in message
    # Cut inside, not at the end: where to look and what to do survive.
    assert message.endswith("change the data, code or hyperparameters to train again.")


# What the image's trainer writes over train.py's failure file (sagemaker_containers `_trainer.train`).
IMAGE_FAILURE = 'AlgorithmError: ExecuteUserScriptError: Command "/miniconda3/bin/python3 -m train --eta 0.1"'


def write_job_log(aws: Aws, job: str, lines: list[str], epoch: int = 1700000000) -> str:
    """The job's stream in the shared training log group, as the container ships its output there."""
    if not aws.logs.describe_log_groups(logGroupNamePrefix=TRAINING_LOGS)["logGroups"]:
        aws.logs.create_log_group(logGroupName=TRAINING_LOGS)
    stream = f"{job}/algo-1-{epoch}"
    aws.logs.create_log_stream(logGroupName=TRAINING_LOGS, logStreamName=stream)
    # PutLogEvents refuses events older than 14 days: the lines are written now.
    start_ms = int(datetime.now(UTC).timestamp() * 1000) - len(lines)
    for first in range(0, len(lines), 1000):
        events = [{"timestamp": start_ms + i, "message": line} for i, line in enumerate(lines[first : first + 1000])]
        aws.logs.put_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, logEvents=events)
    return stream


def provider_framework_response(message: str) -> bytes:
    """The FAILED response CDK's Provider framework sends for an isComplete error with `message`.

    Mirrors aws-cdk-lib custom-resources/lib/provider-framework/runtime: `invokeUserFunction` appends
    the Lambda's log group to the error, `safeHandler` sends the error's stack as the Reason. The
    JavaScript frames below stand for the stack's own lines (about ten, as Node prints them).
    """
    reason = "\n".join(
        [f"Error: {message}", "", "Logs: /aws/lambda/churn-training-check", ""]
        + ["    at invokeUserFunction (/var/task/framework.js:1:2573)"] * 10
    )
    return json.dumps(
        {
            "Status": "FAILED",
            "Reason": reason,
            "StackId": f"arn:aws:cloudformation:{REGION}:{DEFAULT_ACCOUNT_ID}:stack/churn-registry/"
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "RequestId": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "PhysicalResourceId": f"{GROUP}-training-run",
            "LogicalResourceId": "TrainingRunResourceA1B2C3D4",
            "Data": {"JobName": JOB},
        }
    ).encode()


def test_a_failed_job_fails_the_deploy_with_train_pys_own_reason_from_its_log(aws: Aws) -> None:
    event = start("Create", properties(TrainingLogGroup=TRAINING_LOGS))
    # An earlier attempt of the job (a restart) left an older stream with another reason.
    write_job_log(aws, JOB, [reason_line("an earlier attempt")], epoch=1690000000)
    noise = [f"[{i}]#011train-logloss:0.5{i % 10}" for i in range(400)]
    stream = write_job_log(
        aws,
        JOB,
        [
            *noise,
            "2026-11-27 12:00:03,001 sagemaker-containers ERROR ExecuteUserScriptError:",
            reason_line("train.csv line 3, column 'tenure': 'abc' is not a number"),
            "Traceback (most recent call last):",
            *noise[:20],
        ],
    )
    set_job(JOB, "Failed", failure_reason=IMAGE_FAILURE)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert message.startswith(
        f"training job {JOB} Failed (Failed): train.csv line 3, column 'tenure': 'abc' is not a number. "
    )
    assert "ExecuteUserScriptError" not in message
    assert f"See the log group {TRAINING_LOGS}, stream {stream}." in message


def test_without_a_marked_line_the_error_has_sagemakers_reason_and_the_last_log_lines(aws: Aws) -> None:
    event = start("Create", properties(TrainingLogGroup=TRAINING_LOGS))
    write_job_log(aws, JOB, [f"line {i}" for i in range(30)] + ["MemoryError", "  "])
    set_job(JOB, "Failed", failure_reason=IMAGE_FAILURE)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert f"{IMAGE_FAILURE}; last log lines: line 26 | line 27 | line 28 | line 29 | MemoryError." in message
    assert "line 25 " not in message


def test_a_job_without_a_log_stream_fails_with_sagemakers_reason_and_says_the_log_is_missing(aws: Aws) -> None:
    event = start("Create", properties(TrainingLogGroup=TRAINING_LOGS))
    set_job(JOB, "Failed", failure_reason="ClientError: Data download failed: NoSuchKey")

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    assert f"Data download failed: NoSuchKey (no log stream {JOB}/algo-1-* in {TRAINING_LOGS})" in str(failure.value)


@pytest.mark.parametrize("character", ["x", "列", '"'])
def test_the_longest_reason_in_any_script_keeps_the_cloudformation_response_within_4_kb(
    aws: Aws, character: str
) -> None:
    event = start("Create", properties(TrainingLogGroup=TRAINING_LOGS))
    write_job_log(aws, JOB, [reason_line(character * 2000)])
    set_job(JOB, "Failed", secondary="MaxRuntimeExceeded", failure_reason=IMAGE_FAILURE)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert len(provider_framework_response(message)) <= 4096
    assert message.endswith("change the data, code or hyperparameters to train again.")


def test_a_stopped_job_fails_the_deploy_and_says_why_it_stopped(aws: Aws) -> None:
    event = start("Create", properties(TrainingLogGroup="/custom/training-logs"))
    set_job(JOB, "Stopped", secondary="MaxRuntimeExceeded")

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    assert f"training job {JOB} Stopped (MaxRuntimeExceeded)" in str(failure.value)
    assert "it ran longer than MaxRuntimeSeconds=1800" in str(failure.value)
    # The log group named in the properties, the one the construct grants access to.
    assert f"See the log group /custom/training-logs, stream {JOB}/*" in str(failure.value)


def test_a_job_past_its_deadline_is_stopped_and_fails_the_deploy(aws: Aws) -> None:
    event = start("Create", properties(DeadlineSeconds="3120"))
    set_job(JOB, "InProgress", secondary="Training", age=timedelta(seconds=3200))

    with pytest.raises(TrainingRunError, match=r"past the deadline of 3120 s; it has been stopped"):
        is_complete(event, None)

    assert job_status(JOB) == "Stopping"


def test_a_completed_job_whose_artifact_is_not_there_yet_is_not_complete(aws: Aws) -> None:
    event = start("Create", properties())

    assert is_complete(event, None) == {"IsComplete": False}
    assert packages(aws) == []


def test_an_artifact_that_never_appears_fails_once_the_deadline_has_passed(aws: Aws) -> None:
    event = start("Create", properties())
    set_job(JOB, "Completed", age=timedelta(hours=2))

    with pytest.raises(TrainingRunError, match=r"completed but its artifact s3://.*/model.tar.gz does not exist"):
        is_complete(event, None)


def test_an_artifact_without_evaluation_json_fails_with_the_contract_named(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws, files={"model.ubj": b"\x00" * 64, "baseline.json": json.dumps(BASELINE).encode()})

    with pytest.raises(TrainingRunError, match=r"has no evaluation.json at its root.*docs/contracts.md"):
        is_complete(event, None)


@pytest.mark.parametrize(
    ("baseline", "named"),
    [
        ({}, "baseline `version` must be 1, got None"),
        ({**BASELINE, "score": {**BASELINE["score"], "shares": [0.5, 0.5]}}, r"score \(prediction_score\): `shares`"),
    ],
)
def test_a_baseline_the_drift_job_could_not_use_fails_the_deploy_before_anything_is_registered(
    aws: Aws, baseline: dict[str, Any], named: str
) -> None:
    event = start("Create", properties())
    files = {
        "evaluation.json": json.dumps(evaluation_doc(0.91)).encode(),
        "baseline.json": json.dumps(baseline).encode(),
    }
    upload_model(aws, files=files)

    with pytest.raises(TrainingRunError, match=named) as failure:
        is_complete(event, None)

    assert f"baseline.json of s3://{BUCKET}/models/{JOB}/output/model.tar.gz" in str(failure.value)
    assert packages(aws) == []
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="registry/").get("KeyCount") == 0


# --- registration --------------------------------------------------------------------------------


def _metadata_alphabet_ok(value: str) -> bool:
    """CustomerMetadataProperties' pattern: letters, separators, digits and `_.:/=+-@` (API model)."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in value)


def test_an_approved_model_is_registered_with_its_metrics_and_returned(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws, auc=0.912)

    result = is_complete(event, None)

    [package] = packages(aws)
    model_url = f"s3://{BUCKET}/models/{JOB}/output/model.tar.gz"
    evaluation_uri = f"s3://{BUCKET}/registry/{JOB}/evaluation.json"
    baseline_uri = f"s3://{BUCKET}/registry/{JOB}/baseline.json"
    assert result == {
        "IsComplete": True,
        "Data": {
            "ModelPackageArn": package["ModelPackageArn"],
            "ModelDataUrl": model_url,
            "JobName": JOB,
            "ApprovalStatus": "Approved",
            "ValidationAuc": "0.912",
            "BaselineUri": baseline_uri,
            "EvaluationUri": evaluation_uri,
        },
    }
    assert len(json.dumps(result)) < 1024  # far inside CloudFormation's 4 KB response
    assert package["ModelApprovalStatus"] == "Approved"
    [container] = package["InferenceSpecification"]["Containers"]
    assert container["Image"] == IMAGE
    assert container["ModelDataUrl"] == model_url
    assert container["Environment"] == json.loads(properties()["ServingEnvironment"])
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert package["InferenceSpecification"]["SupportedResponseMIMETypes"] == ["application/json", "text/csv"]
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert (statistics["S3Uri"], statistics["ContentType"]) == (evaluation_uri, "application/json")
    baseline = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert (baseline["S3Uri"], baseline["ContentType"]) == (baseline_uri, "application/json")
    metadata = package["CustomerMetadataProperties"]
    assert metadata["training_job"] == JOB
    assert metadata["validation_auc"] == "0.912"
    assert metadata["gate_reason"] == "validation AUC 0.9120 at least 0.7500"
    assert metadata["registration_key"] == registration_key(JOB, json.loads(properties()["ServingEnvironment"]), 0.75)
    assert all(_metadata_alphabet_ok(v) and len(v) <= 256 for v in metadata.values())
    # The registry's copies are byte for byte the files the training job wrote.
    copied = aws.s3.get_object(Bucket=BUCKET, Key=f"registry/{JOB}/evaluation.json")
    assert json.loads(copied["Body"].read()) == evaluation_doc(0.912)
    assert copied["ContentType"] == "application/json"
    copied_baseline = aws.s3.get_object(Bucket=BUCKET, Key=f"registry/{JOB}/baseline.json")
    assert json.loads(copied_baseline["Body"].read()) == BASELINE


def test_a_rejected_model_is_kept_as_rejected_history_and_fails_the_deploy(aws: Aws) -> None:
    event = start("Create", properties(MinValidationAuc="0.8"))
    upload_model(aws, auc=0.71)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    [package] = packages(aws)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["CustomerMetadataProperties"]["gate_reason"] == "validation AUC 0.7100 below 0.8000 quality gate"
    message = str(failure.value)
    assert f"training job {JOB} is Rejected: validation AUC 0.7100 < 0.8000" in message
    assert package["ModelPackageArn"] in message
    assert "keeps serving the previous approved model" in message


def test_registration_happens_once_however_often_the_framework_polls_or_retries(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws)

    first = is_complete(event, None)
    second = is_complete(event, None)
    retried = is_complete(start("Create", properties()), None)

    assert len(packages(aws)) == 1
    assert first == second == retried


def test_a_rejected_model_is_not_registered_twice_when_the_deploy_is_retried(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws, auc=0.6)

    for _ in range(2):
        with pytest.raises(TrainingRunError, match="Rejected"):
            is_complete(event, None)

    assert len(packages(aws)) == 1


def test_a_changed_serving_environment_registers_a_new_version_of_the_same_job(aws: Aws) -> None:
    created = deploy(aws, properties())
    environment = json.loads(properties()["ServingEnvironment"]) | {"MLOPS_CAPTURE_PERCENT": "10"}

    updated = deploy(aws, properties(ServingEnvironment=json.dumps(environment)), "Update")

    assert training_job_names(aws) == [JOB]
    assert updated["Data"]["ModelPackageArn"] != created["Data"]["ModelPackageArn"]
    newest = aws.sagemaker.describe_model_package(ModelPackageName=updated["Data"]["ModelPackageArn"])
    assert newest["InferenceSpecification"]["Containers"][0]["Environment"]["MLOPS_CAPTURE_PERCENT"] == "10"


def test_a_version_approved_by_hand_in_the_registry_lets_the_retried_deploy_pass(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws, auc=0.7)
    with pytest.raises(TrainingRunError, match="Rejected"):
        is_complete(event, None)
    [package] = packages(aws)

    # A reviewer approves it (set in moto's backend: moto's UpdateModelPackage drops the metadata).
    _backend().model_packages[package["ModelPackageArn"]].model_approval_status = "Approved"
    result = is_complete(event, None)

    assert result["Data"]["ModelPackageArn"] == package["ModelPackageArn"]
    assert result["Data"]["ApprovalStatus"] == "Approved"
    assert len(packages(aws)) == 1


def test_a_version_still_being_validated_is_waited_for(aws: Aws) -> None:
    event = start("Create", properties())
    upload_model(aws)
    is_complete(event, None)
    [package] = packages(aws)
    _backend().model_packages[package["ModelPackageArn"]].model_package_status = "InProgress"

    assert is_complete(event, None) == {"IsComplete": False}


# --- bad properties -------------------------------------------------------------------------------


def test_a_bad_property_fails_the_create_with_its_name_and_starts_nothing(aws: Aws) -> None:
    props = properties()
    del props["ModelPackageGroupName"]

    with pytest.raises(PropertyError, match="`ModelPackageGroupName` is required"):
        on_event(cfn_event("Create", props), None)
    with pytest.raises(PropertyError, match="`HyperParameters`: the value of 'max_depth' must be a string"):
        on_event(cfn_event("Create", properties(HyperParameters='{"max_depth": 4}')), None)
    assert training_job_names(aws) == []


# --- delete --------------------------------------------------------------------------------------


def test_delete_stops_this_projects_running_jobs_and_removes_every_version(aws: Aws) -> None:
    deploy(aws, properties(JOB))
    deploy(aws, properties(NEXT_JOB), "Update")
    set_job(NEXT_JOB, "InProgress", secondary="Training")  # the job in the properties, still running
    start_foreign_job(aws, "churn-0a0a0a0a0a0a", f"s3://{BUCKET}/models")  # ours, from a cancelled update
    start_foreign_job(aws, "churn-0b0b0b0b0b0b", "s3://another-stage-bucket/models")  # same prefix, not ours
    start_foreign_job(aws, "fraud-0c0c0c0c0c0c", f"s3://{BUCKET}/models")  # another project

    event = start("Delete", properties(NEXT_JOB))

    assert event["PhysicalResourceId"] == f"{GROUP}-training-run"
    assert event["Data"]["StoppingJobs"] == f"churn-0a0a0a0a0a0a,{NEXT_JOB}"
    assert {name: job_status(name) for name in training_job_names(aws)} == {
        JOB: "Completed",
        NEXT_JOB: "Stopping",
        "churn-0a0a0a0a0a0a": "Stopping",
        "churn-0b0b0b0b0b0b": "InProgress",
        "fraud-0c0c0c0c0c0c": "InProgress",
    }
    assert packages(aws) == []
    assert is_complete(event, None) == {"IsComplete": False}

    set_job(NEXT_JOB, "Stopped")
    set_job("churn-0a0a0a0a0a0a", "Stopped")
    assert is_complete(event, None) == {"IsComplete": True}


def test_delete_stops_waiting_for_a_job_that_will_not_leave_stopping(aws: Aws) -> None:
    start("Create", properties())
    set_job(JOB, "InProgress", secondary="Training")
    event = start("Delete", properties())
    event["Data"]["DeleteRequestedAt"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    assert job_status(JOB) == "Stopping"
    assert is_complete(event, None) == {"IsComplete": True}


def test_delete_succeeds_when_everything_is_already_gone(aws: Aws) -> None:
    props = properties(ModelPackageGroupName="never-created-group")

    for _ in range(2):
        event = start("Delete", props)
        assert event["Data"]["StoppingJobs"] == ""
        assert is_complete(event, None) == {"IsComplete": True}


def test_delete_after_a_finished_run_only_removes_versions(aws: Aws) -> None:
    deploy(aws, properties())

    event = start("Delete", properties())
    again = start("Delete", properties())

    assert job_status(JOB) == "Completed"
    assert packages(aws) == []
    assert event["Data"]["StoppingJobs"] == again["Data"]["StoppingJobs"] == ""
    assert is_complete(again, None) == {"IsComplete": True}


def test_delete_does_not_fail_on_odd_properties(aws: Aws) -> None:
    event = cfn_event("Delete", {"ServiceToken": "x", "JobName": "not a job name!"})

    result = on_event(event, None)

    assert result["PhysicalResourceId"] == f"{GROUP}-training-run"
    assert is_complete({**event, **result}, None) == {"IsComplete": True}


# --- delete: versions still deleting, RetainVersions ----------------------------------------------


def overdue(event: dict[str, Any]) -> dict[str, Any]:
    """The same event, its delete requested an hour ago: past every wait limit."""
    return {
        **event,
        "Data": {**event["Data"], "DeleteRequestedAt": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    }


def test_the_fake_aws_refuses_an_enum_value_that_aws_refuses_for_the_handlers_clients_too(aws: Aws) -> None:
    handler_sagemaker = handler.process_clients().sagemaker

    for client in (aws.sagemaker, handler_sagemaker):
        with pytest.raises(ClientError) as refused:
            client.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="VERSIONED")
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert "Value 'VERSIONED' at 'ModelPackageType'" in str(refused.value)
        assert "[Versioned, Unversioned, Both]" in str(refused.value)
        assert (
            client.list_model_packages(ModelPackageGroupName=GROUP, ModelPackageType="Versioned")[
                "ModelPackageSummaryList"
            ]
            == []
        )
    assert [v.operation for v in aws.checker.take_violations()] == ["ListModelPackages", "ListModelPackages"]


def test_the_fake_aws_checks_enum_values_nested_in_a_request(aws: Aws) -> None:
    at = "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes.2"
    with pytest.raises(
        ClientError, match=rf"2 validation errors.*'approved' at 'ModelApprovalStatus'.*'ml\.m5\.huge' at '{at}'"
    ):
        aws.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="approved",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
                "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.huge"],
            },
        )
    assert packages(aws) == []
    assert [v.operation for v in aws.checker.take_violations()] == ["CreateModelPackage"]


def test_delete_waits_while_a_version_is_still_deleting(aws: Aws) -> None:
    deploy(aws, properties())
    [package] = packages(aws)
    SLOW_DELETES.add(package["ModelPackageArn"])

    event = start("Delete", properties())

    assert event["Data"]["StoppingJobs"] == ""
    assert [p["ModelPackageStatus"] for p in packages(aws)] == ["Deleting"]
    assert is_complete(event, None) == {"IsComplete": False}
    assert is_complete(event, None) == {"IsComplete": False}

    del _backend().model_packages[package["ModelPackageArn"]]  # SageMaker finishes the deletion
    assert is_complete(event, None) == {"IsComplete": True}


def test_delete_stops_waiting_for_a_version_that_stays_deleting_past_the_limit(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    deploy(aws, properties())
    [package] = packages(aws)
    SLOW_DELETES.add(package["ModelPackageArn"])
    event = start("Delete", properties())

    assert is_complete(overdue(event), None) == {"IsComplete": True}
    assert f"1 versions of {GROUP} still listed (Deleting)" in caplog.text
    assert len(packages(aws)) == 1


@pytest.mark.parametrize(("retain", "versions_after"), [("true", 2), ("false", 0)])
def test_retain_versions_decides_whether_delete_removes_the_versions(
    aws: Aws, retain: str, versions_after: int
) -> None:
    deploy(aws, properties(JOB))
    deploy(aws, properties(NEXT_JOB), "Update")
    set_job(NEXT_JOB, "InProgress", secondary="Training")

    event = start("Delete", properties(NEXT_JOB, RetainVersions=retain))

    # The running job is stopped either way: a retained registry does not need it.
    assert event["Data"]["StoppingJobs"] == NEXT_JOB
    assert job_status(NEXT_JOB) == "Stopping"
    assert len(packages(aws)) == versions_after
    set_job(NEXT_JOB, "Stopped")
    assert is_complete(event, None) == {"IsComplete": True}
    assert len(packages(aws)) == versions_after


def test_retained_versions_are_not_waited_for_even_while_another_is_deleting(aws: Aws) -> None:
    deploy(aws, properties())
    [package] = packages(aws)
    _backend().model_packages[package["ModelPackageArn"]].model_package_status = "Deleting"

    event = start("Delete", properties(RetainVersions="true"))

    assert is_complete(event, None) == {"IsComplete": True}


# --- delete: training log streams ---------------------------------------------------------------


def add_log_streams(aws: Aws, *names: str) -> None:
    """The shared training log group, with streams named as SageMaker names them."""
    aws.logs.create_log_group(logGroupName=TRAINING_LOGS)
    for name in names:
        aws.logs.create_log_stream(logGroupName=TRAINING_LOGS, logStreamName=name)


def log_streams(aws: Aws) -> list[str]:
    pages = aws.logs.get_paginator("describe_log_streams").paginate(logGroupName=TRAINING_LOGS)
    return sorted(s["logStreamName"] for page in pages for s in page["logStreams"])


def test_delete_removes_the_log_streams_of_this_deployments_jobs_only(aws: Aws) -> None:
    deploy(aws, properties(JOB))
    deploy(aws, properties(NEXT_JOB), "Update")
    start_foreign_job(aws, "churn-0b0b0b0b0b0b", "s3://another-stage-bucket/models")  # same prefix, not ours
    start_foreign_job(aws, "fraud-0c0c0c0c0c0c", f"s3://{BUCKET}/models")  # another project
    for name in ("churn-0b0b0b0b0b0b", "fraud-0c0c0c0c0c0c"):
        set_job(name, "Completed")
    kept = [
        "churn-0b0b0b0b0b0b/algo-1-1700000300",
        "fraud-0c0c0c0c0c0c/algo-1-1700000400",
        "churn-5e5e5e5e5e5e/algo-1-1700000500",  # a job SageMaker does not know: not provably ours
    ]
    add_log_streams(aws, f"{JOB}/algo-1-1700000000", f"{JOB}/algo-1-1700000100", f"{NEXT_JOB}/algo-1-1700000200", *kept)

    event = start("Delete", properties(NEXT_JOB, TrainingLogGroup=TRAINING_LOGS))

    assert len(log_streams(aws)) == 6  # onEvent leaves the logs to isComplete
    assert is_complete(event, None) == {"IsComplete": True}
    assert log_streams(aws) == sorted(kept)


def test_log_streams_are_deleted_even_when_the_versions_are_retained(aws: Aws) -> None:
    deploy(aws, properties())
    add_log_streams(aws, f"{JOB}/algo-1-1700000000")

    event = start("Delete", properties(RetainVersions="true", TrainingLogGroup=TRAINING_LOGS))

    assert is_complete(event, None) == {"IsComplete": True}
    assert log_streams(aws) == []
    assert len(packages(aws)) == 1


def test_without_the_log_group_property_delete_leaves_the_logs_alone(aws: Aws) -> None:
    deploy(aws, properties())
    add_log_streams(aws, f"{JOB}/algo-1-1700000000")

    event = start("Delete", properties())

    assert is_complete(event, None) == {"IsComplete": True}
    assert log_streams(aws) == [f"{JOB}/algo-1-1700000000"]


def test_a_stopping_jobs_log_stream_is_deleted_only_once_the_job_has_stopped(aws: Aws) -> None:
    start("Create", properties())
    set_job(JOB, "InProgress", secondary="Training")
    add_log_streams(aws, f"{JOB}/algo-1-1700000000")

    event = start("Delete", properties(TrainingLogGroup=TRAINING_LOGS))

    assert is_complete(event, None) == {"IsComplete": False}
    assert log_streams(aws) == [f"{JOB}/algo-1-1700000000"]  # the job still writes its last lines
    set_job(JOB, "Stopped")
    assert is_complete(event, None) == {"IsComplete": True}
    assert log_streams(aws) == []


def test_delete_succeeds_when_the_training_log_group_does_not_exist(aws: Aws) -> None:
    deploy(aws, properties())

    event = start("Delete", properties(TrainingLogGroup=TRAINING_LOGS))

    assert is_complete(event, None) == {"IsComplete": True}
    assert is_complete(event, None) == {"IsComplete": True}


def test_many_log_streams_are_deleted_in_batches_over_several_polls(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(aws, properties())
    # More than one page of DescribeLogStreams (50): a job restarted on spot capacity has many streams.
    add_log_streams(aws, *(f"{JOB}/algo-1-{1700000000 + i}" for i in range(60)), "fraud-0c0c0c0c0c0c/algo-1-1")
    monkeypatch.setattr(delete, "MAX_LOG_STREAMS_PER_POLL", 25)
    event = start("Delete", properties(TrainingLogGroup=TRAINING_LOGS))

    assert is_complete(event, None) == {"IsComplete": False}
    assert len(log_streams(aws)) == 36
    assert is_complete(event, None) == {"IsComplete": False}
    assert is_complete(event, None) == {"IsComplete": True}
    assert log_streams(aws) == ["fraud-0c0c0c0c0c0c/algo-1-1"]


def test_log_streams_left_past_the_wait_limit_do_not_hold_up_the_destroy(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    deploy(aws, properties())
    add_log_streams(aws, *(f"{JOB}/algo-1-{1700000000 + i}" for i in range(3)))
    monkeypatch.setattr(delete, "MAX_LOG_STREAMS_PER_POLL", 2)
    event = start("Delete", properties(TrainingLogGroup=TRAINING_LOGS))

    assert is_complete(overdue(event), None) == {"IsComplete": True}
    assert len(log_streams(aws)) == 1
    assert f"1 log streams of churn-* left in {TRAINING_LOGS}" in caplog.text


def test_an_aws_error_names_the_job_and_stays_short(aws: Aws) -> None:
    event = start("Create", properties(ModelPackageGroupName="group-that-was-never-created"))
    upload_model(aws)

    with pytest.raises(TrainingRunError) as failure:
        is_complete(event, None)

    message = str(failure.value)
    assert message.startswith(f"training run {JOB}: ClientError:")
    assert "CreateModelPackage" in message
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
