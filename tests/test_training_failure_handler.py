"""The ExplainFailure Lambda on moto: a caught error becomes the reason a person reads.

A failed job's reason is train.py's marked line in the job's log stream
(`model_code.failure_reason`), since the image's trainer overwrites SageMaker's FailureReason.
moto's jobs are Completed at once: a test sets the state only time produces in AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from mlops_core import naming
from mlops_core.naming import TRAINING_LOG_GROUP
from mlops_core.settings import Settings
from mlops_stacks.handlers.training_failure import handler
from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from model_code.failure_reason import reason_line
from tests.aws_fixtures import checked_boto3
from tests.moto_sagemaker import set_job, start_training_job

REGION = "us-east-1"
SETTINGS = Settings()
BUCKET = "mlops-showcase-data"
EXECUTION = f"arn:aws:states:{REGION}:{DEFAULT_ACCOUNT_ID}:execution:mlops-showcase-training:run-1"
JOB = naming.pipeline_job_name(SETTINGS.project_name, EXECUTION)
# What the image's trainer writes over train.py's failure file.
IMAGE_FAILURE = 'AlgorithmError: ExecuteUserScriptError: Command "/miniconda3/bin/python3 -m train"'


@dataclass
class Aws:
    sagemaker: Any
    logs: Any

    def clients(self) -> TrainingRunClients:
        return TrainingRunClients(sagemaker=self.sagemaker, logs=self.logs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), checked_boto3():
        yield Aws(boto3.client("sagemaker"), boto3.client("logs"))


def train(aws: Aws, status: str, *, secondary: str = "", failure_reason: str = IMAGE_FAILURE) -> None:
    """The Train state's job, left in `status` as SageMaker would leave it."""
    start_training_job(aws.sagemaker, JOB, bucket=BUCKET, output_path=f"s3://{BUCKET}/models")
    set_job(JOB, status, secondary=secondary, failure_reason=failure_reason)


def write_log(aws: Aws, lines: list[str], epoch: int = 1700000000) -> str:
    """The job's algo-1 stream, as the container ships its output (a restarted job has one per start)."""
    if not aws.logs.describe_log_groups(logGroupNamePrefix=TRAINING_LOG_GROUP)["logGroups"]:
        aws.logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
    stream = f"{JOB}/algo-1-{epoch}"
    aws.logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
    now = int(datetime.now(UTC).timestamp() * 1000) - len(lines)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    aws.logs.put_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, logEvents=events)
    return stream


def explain(aws: Aws, error: dict[str, str], job_name: str = JOB) -> dict[str, str]:
    return handler({"job_name": job_name, "error": error}, None, aws.clients())


# The reason is the only part of a cause that grows: train.py's is cut to 1024 bytes, SageMaker's to
# 600 and the log lines to 420; the job, the log group and the stream add a few hundred.
MAX_CAUSE_BYTES = 1500
SYNC_ERROR = {"Error": "SageMaker.TrainingJobFailed", "Cause": json.dumps({"TrainingJobStatus": "Failed"})}


def test_a_failed_job_is_explained_by_train_pys_own_reason_from_its_log(aws: Aws) -> None:
    train(aws, "Failed", secondary="Failed")
    stream = write_log(
        aws,
        [
            "[0]#011train-auc:0.71",
            reason_line("column 'tenure' of channel train is not numeric (line 14: 'abc')"),
            "Traceback (most recent call last):",
            IMAGE_FAILURE,
        ],
    )
    explained = explain(aws, SYNC_ERROR)
    assert explained == {
        "Error": "TrainingFailed",
        "Cause": f"training job {JOB} Failed (Failed): column 'tenure' of channel train is not numeric "
        f"(line 14: 'abc'). See the log group {TRAINING_LOG_GROUP}, stream {stream}.",
    }


def test_the_reason_comes_from_the_newest_start_of_a_restarted_job_among_its_noise(aws: Aws) -> None:
    train(aws, "Failed")
    write_log(aws, [reason_line("an earlier attempt")], epoch=1690000000)
    noise = [f"[{i}]#011train-logloss:0.5{i % 10}" for i in range(400)]
    stream = write_log(
        aws,
        [
            *noise,
            "2026-11-27 12:00:03,001 sagemaker-containers ERROR ExecuteUserScriptError:",
            reason_line("train.csv line 3, column 'tenure': 'abc' is not a number"),
            "Traceback (most recent call last):",
            *noise[:20],
        ],
    )
    cause = explain(aws, SYNC_ERROR)["Cause"]
    assert cause == (
        f"training job {JOB} Failed (Failed): train.csv line 3, column 'tenure': 'abc' is not a number. "
        f"See the log group {TRAINING_LOG_GROUP}, stream {stream}."
    )


def test_without_a_marked_line_sagemakers_reason_and_the_last_log_lines_explain_it(aws: Aws) -> None:
    train(aws, "Failed")
    write_log(aws, [f"line {i}" for i in range(30)] + ["loading data", "Killed", "  "])
    cause = explain(aws, SYNC_ERROR)["Cause"]
    assert f"{IMAGE_FAILURE}; last log lines: line 27 | line 28 | line 29 | loading data | Killed." in cause
    assert "line 26 " not in cause


def test_a_job_without_a_log_stream_says_the_log_is_missing(aws: Aws) -> None:
    train(aws, "Failed")
    cause = explain(aws, SYNC_ERROR)["Cause"]
    assert f"{IMAGE_FAILURE} (no log stream {JOB}/algo-1-* in {TRAINING_LOG_GROUP})" in cause


def test_a_job_stopped_at_its_max_runtime_says_which_setting_to_raise(aws: Aws) -> None:
    train(aws, "Stopped", secondary="MaxRuntimeExceeded", failure_reason="")
    write_log(aws, ["[57]#011train-auc:0.90"])
    cause = explain(aws, {"Error": "States.TaskFailed", "Cause": "{}"})["Cause"]
    assert f"training job {JOB} Stopped (MaxRuntimeExceeded)" in cause
    assert "raise training_max_runtime_minutes" in cause


@pytest.mark.parametrize("script", ["x", "列が見つかりません"])
def test_a_long_sagemaker_reason_is_cut_inside_and_where_to_look_survives(aws: Aws, script: str) -> None:
    # SageMaker's FailureReason holds up to 1024 characters: in a three-byte script, 3 KB.
    train(aws, "Failed", failure_reason=("ValueError: Spalte ungültig – " + script * 1024)[:1024])
    cause = explain(aws, SYNC_ERROR)["Cause"]
    assert cause.startswith(f"training job {JOB} Failed (Failed): ValueError: Spalte ungültig – {script}")
    assert "… (no log stream" in cause
    assert cause.endswith(f"See the log group {TRAINING_LOG_GROUP}, stream {JOB}/*.")
    assert len(cause.encode()) <= MAX_CAUSE_BYTES


@pytest.mark.parametrize("character", ["x", "列", '"'])
def test_the_longest_reason_in_any_script_keeps_the_cause_bounded_and_says_where_to_look(
    aws: Aws, character: str
) -> None:
    train(aws, "Stopped", secondary="MaxRuntimeExceeded")
    stream = write_log(aws, [reason_line(character * 2000)])
    cause = explain(aws, SYNC_ERROR)["Cause"]
    assert cause.startswith(f"training job {JOB} Stopped (MaxRuntimeExceeded): {character * 100}")
    assert "raise training_max_runtime_minutes" in cause
    assert cause.endswith(f"See the log group {TRAINING_LOG_GROUP}, stream {stream}.")
    assert len(cause.encode()) <= MAX_CAUSE_BYTES


def test_an_error_after_a_completed_job_keeps_the_lambdas_own_message(aws: Aws) -> None:
    train(aws, "Completed", failure_reason="")
    report = {"errorMessage": "baseline.json: field `n_rows` must be > 0", "errorType": "TrainingRunError"}
    explained = explain(aws, {"Error": "TrainingRunError", "Cause": json.dumps(report)})
    assert explained == {
        "Error": "TrainingRunError",
        "Cause": f"training run of job {JOB}: baseline.json: field `n_rows` must be > 0",
    }


def test_a_job_sagemaker_refused_to_create_keeps_the_services_message(aws: Aws) -> None:
    cause = "The requested resource type ml.m5.large is not available (Service: SageMaker, Status Code: 400)"
    explained = explain(aws, {"Error": "SageMaker.ResourceLimitExceededException", "Cause": cause})
    assert explained == {
        "Error": "SageMaker.ResourceLimitExceededException",
        "Cause": f"training run of job {JOB}: {cause}",
    }
    assert explain(aws, {})["Cause"] == f"training run of job {JOB}: no cause given"
