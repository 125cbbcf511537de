"""The capture and drift Lambdas against moto (S3, SageMaker, Athena, CloudWatch)."""

from __future__ import annotations

import base64
import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import numpy as np
import pytest
import sqlglot
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

from mlops_core.settings import SettingError, Settings
from mlops_stacks.handlers import capture_writer, drift_job
from monitoring import drift_run
from monitoring import metrics as m
from monitoring.baseline import parse_baseline
from monitoring.capture import capture_objects, write_capture_objects
from monitoring.drift_query import DUCKDB, TimeWindow, build_drift_query, duckdb_files
from monitoring.drift_stats import DriftThresholds
from monitoring.tools import synthetic_drift as sd
from monitoring.tools.drift_engine_local import run_local_drift
from tests.aws_fixtures import checked_boto3

REGION = "us-east-1"
BUCKET = "mlops-bucket"
ENDPOINT = "mlops-showcase-endpoint"
# CloudWatch Logs' limits: a log event is at most 256 KB, a delivered batch about 1 MB.
MAX_EVENT_BYTES = 256 * 1024
BATCH_BYTES = 1024 * 1024
SERVERLESS_PAYLOAD_BYTES = 4 * 1024 * 1024


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with the enum checks of the real APIs, and the project's bucket."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), checked_boto3():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


def subscription_events(lines: list[str]) -> list[dict[str, Any]]:
    """Pack log lines into subscription deliveries of at most ~1 MB, as CloudWatch Logs does."""
    batches: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if size + len(line) > BATCH_BYTES and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(line)
        size += len(line)
    events = []
    for number, batch in enumerate(batches):
        payload = {
            "messageType": "DATA_MESSAGE",
            "owner": DEFAULT_ACCOUNT_ID,
            "logGroup": f"/aws/sagemaker/Endpoints/{ENDPOINT}",
            "logStream": "AllTraffic/instance-1",
            "subscriptionFilters": ["capture"],
            "logEvents": [
                {"id": f"{number:04d}{k:08d}", "timestamp": 1_795_000_000_000, "message": message}
                for k, message in enumerate(batch)
            ],
        }
        data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
        events.append({"awslogs": {"data": data}})
    return events


def read_capture(s3: Any) -> dict[str, list[dict[str, Any]]]:
    objects = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"capture/{ENDPOINT}/").get("Contents", [])
    return {
        o["Key"]: [json.loads(row) for row in s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().splitlines()]
        for o in objects
    }


# --- capture Lambda -------------------------------------------------------------------------------


def test_a_4_mb_batch_is_split_into_lines_and_reassembled_losslessly_from_s3(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPTURE_BUCKET", BUCKET)
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    rng = np.random.default_rng(7)
    # A CSV request body just under the serverless 4 MB payload limit: 20 features a row.
    rows = []
    size = 0
    while True:
        row = ",".join(f"{v:.9g}" for v in rng.normal(0, 1000, 20))
        if size + len(row) + 1 > SERVERLESS_PAYLOAD_BYTES:
            break
        rows.append(row)
        size += len(row) + 1
    expected = np.array([[float(v) for v in r.split(",")] for r in rows])
    assert size > 0.99 * SERVERLESS_PAYLOAD_BYTES and len(rows) > 15_000
    # What the inference handler prints: one line per row, after the model server's log prefix.
    record = {
        "v": 1,
        "ts": "2026-11-26T10:59:59.500Z",
        "request_id": "big-request",
        "model_id": "job-1",
        "n": len(rows),
    }
    lines = [
        sd.capture_log_line({**record, "i": i, "x": [float(v) for v in row.split(",")], "score": 0.5}, prefix="INFO ")
        for i, row in enumerate(rows)
    ]
    assert max(len(line.encode()) for line in lines) < MAX_EVENT_BYTES
    events = subscription_events(lines)
    assert len(events) > 3

    summaries = [capture_writer.handler(event, None) for event in events]

    assert sum(s["records"] for s in summaries) == len(rows)
    assert sum(s["skipped"] for s in summaries) == 0
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, records in read_capture(boto3.client("s3")).items():
        assert key.startswith(f"capture/{ENDPOINT}/2026/11/26/10/")
        for r in records:
            by_request[r["request_id"]].append(r)
    rebuilt = sorted(by_request["big-request"], key=lambda r: r["i"])
    assert [r["i"] for r in rebuilt] == list(range(len(rows)))
    assert all(r["n"] == len(rows) for r in rebuilt)
    np.testing.assert_array_equal(np.array([r["x"] for r in rebuilt]), expected)


def test_a_retried_delivery_overwrites_instead_of_duplicating(aws: None) -> None:
    s3 = boto3.client("s3")
    record = {
        "v": 1,
        "ts": "2026-11-26T10:00:00Z",
        "request_id": "r",
        "model_id": "m",
        "n": 2,
        "x": [1.0],
        "score": 0.1,
    }
    lines = [sd.capture_log_line({**record, "i": i}) for i in range(2)]
    (event,) = subscription_events(lines)
    for _ in range(2):
        capture_writer.write_capture(event, s3, BUCKET, ENDPOINT)
    captured = read_capture(s3)
    assert len(captured) == 1
    assert [r["i"] for r in next(iter(captured.values()))] == [0, 1]


def test_malformed_lines_are_skipped_and_counted_and_other_logging_ignored(
    aws: None, capsys: pytest.CaptureFixture
) -> None:
    s3 = boto3.client("s3")
    good = sd.capture_log_line(
        {
            "v": 1,
            "ts": "2026-11-26T10:00:00Z",
            "request_id": "r",
            "model_id": "m",
            "i": 0,
            "n": 1,
            "x": [1.0],
            "score": 0.1,
        }
    )
    (event,) = subscription_events(["Model loaded", good, good[:-9], "MLOPS_CAPTURE {oops"])
    summary = capture_writer.write_capture(event, s3, BUCKET, ENDPOINT)
    assert summary == {"events": 4, "records": 1, "skipped": 2, "objects": 1}


def test_one_record_with_an_impossible_timestamp_is_skipped_and_its_neighbours_written(aws: None) -> None:
    s3 = boto3.client("s3")
    record = {"v": 1, "request_id": "r", "model_id": "m", "n": 3, "x": [1.0], "score": 0.1}
    lines = [
        sd.capture_log_line({**record, "ts": "2026-11-26T10:00:00Z", "i": 0}),
        sd.capture_log_line({**record, "ts": "9999-12-31T23:59:59-05:00", "i": 1}),  # past year 9999 in UTC
        sd.capture_log_line({**record, "ts": "2026-11-26T10:00:01Z", "i": 2}),
    ]
    (event,) = subscription_events(lines)
    summary = capture_writer.write_capture(event, s3, BUCKET, ENDPOINT)
    assert summary == {"events": 3, "records": 2, "skipped": 1, "objects": 1}
    assert [r["i"] for rows in read_capture(s3).values() for r in rows] == [0, 2]


def test_a_control_message_writes_nothing(aws: None) -> None:
    payload = {
        "messageType": "CONTROL_MESSAGE",
        "logGroup": "",
        "logStream": "",
        "logEvents": [{"id": "1", "message": "CWL CONTROL MESSAGE"}],
    }
    event = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}
    assert capture_writer.write_capture(event, boto3.client("s3"), BUCKET, ENDPOINT)["objects"] == 0
    assert read_capture(boto3.client("s3")) == {}


def test_an_s3_failure_raises_so_lambda_retries_and_dead_letters_the_event(aws: None) -> None:
    line = sd.capture_log_line(
        {
            "v": 1,
            "ts": "2026-11-26T10:00:00Z",
            "request_id": "r",
            "model_id": "m",
            "i": 0,
            "n": 1,
            "x": [1.0],
            "score": 0.1,
        }
    )
    (event,) = subscription_events([line])
    with pytest.raises(ClientError, match="NoSuchBucket"):
        capture_writer.write_capture(event, boto3.client("s3"), "bucket-that-does-not-exist", ENDPOINT)


# --- drift Lambda ---------------------------------------------------------------------------------

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
N_FEATURES = 10
DRIFTED = (0, 7)


@pytest.fixture
def deployed(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A served model whose package carries a baseline, captured traffic, and the job's environment."""
    names = sd.feature_names(N_FEATURES)
    reference, ref_score = sd.sample(8000, N_FEATURES, seed=31)
    document = sd.baseline_document(reference, ref_score, names)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="registry/job-1/baseline.json", Body=json.dumps(document).encode())
    baseline_uri = f"s3://{BUCKET}/registry/job-1/baseline.json"

    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="mlops-showcase-models")
    package = sagemaker.create_model_package(
        ModelPackageGroupName="mlops-showcase-models",
        InferenceSpecification={
            "Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/models/job-1/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        DriftCheckBaselines={
            "ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": baseline_uri}}
        },
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]
    sagemaker.create_model(
        ModelName="served-model",
        ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker",
        PrimaryContainer={"ModelPackageName": package},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="served-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "served-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="served-config")

    current, score = sd.sample(5000, N_FEATURES, seed=32, drifted=DRIFTED)
    records = sd.capture_records(current, score, END - timedelta(hours=30), seconds_per_row=30.0, rows_per_request=10)
    files = write_capture_objects(capture_objects(records, ENDPOINT, "b"), tmp_path)

    env = {
        "ENDPOINT_NAME": ENDPOINT,
        "CAPTURE_DATABASE": "mlops_showcase_capture",
        "CAPTURE_TABLE": "requests",
        "ATHENA_WORKGROUP": "mlops-showcase-drift",
        "REPORT_BUCKET": BUCKET,
        "DRIFT_PSI_WARN": "0.1",
        "DRIFT_PSI_ALERT": "0.2",
        "DRIFT_MEAN_SHIFT_SD": "0.25",
        "DRIFT_MIN_ROWS": "200",
        "DRIFT_WINDOW_HOURS": "24",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    boto3.client("athena").create_work_group(Name="mlops-showcase-drift", Configuration={})
    return {"baseline": parse_baseline(document), "files": files, "uri": baseline_uri, "env": env}


def without_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_floats(v) for v in value]
    return "<float>" if isinstance(value, float) else value


def numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v)]
    return [value] if isinstance(value, float) else []


def queue_athena_result(row: dict[str, Any]) -> None:
    """What Athena would answer: every value as text, NULL as an absent VarCharValue, header row first."""
    names = list(row)
    cells = [{} if v is None else {"VarCharValue": str(v)} for v in row.values()]
    result = QueryResults(
        rows=[{"Data": [{"VarCharValue": n} for n in names]}, {"Data": cells}],
        column_info=[{"Name": n, "Type": "varchar"} for n in names],
    )
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(result)


def answer_like_athena(deployed: dict[str, Any], window: TimeWindow) -> None:
    """Compute the aggregation Athena would return, with DuckDB over the same capture files."""
    query = build_drift_query(deployed["baseline"], DUCKDB, duckdb_files(deployed["files"]), window)
    cursor = duckdb.connect().execute(query.sql)
    queue_athena_result(dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True)))


@pytest.fixture
def polling_athena() -> Iterator[None]:
    """Athena queries go QUEUED → RUNNING → SUCCEEDED, one step every second GetQueryExecution."""
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 2})
    yield
    state_manager.unset_transition("athena::execution")


def test_the_drift_job_reports_what_the_local_engine_reports_and_publishes_metrics(
    deployed: dict[str, Any], polling_athena: None
) -> None:
    window = TimeWindow.ending(END, 24)
    answer_like_athena(deployed, window)
    sleeps: list[float] = []

    report, key = drift_run.run_drift_job(
        drift_run.DriftJobConfig.from_env(deployed["env"]),
        END,
        athena=boto3.client("athena"),
        s3=boto3.client("s3"),
        sagemaker=boto3.client("sagemaker"),
        cloudwatch=boto3.client("cloudwatch"),
        sleep=sleeps.append,
    )

    local = run_local_drift(
        deployed["baseline"],
        deployed["files"][0].parents[4],
        DriftThresholds.from_settings(Settings()),
        endpoint=ENDPOINT,
        window=window,
    )
    # Equal but for the last bits of float sums, which DuckDB adds up in parallel, in any order.
    assert without_floats(report) == without_floats(local)
    assert numbers(report) == pytest.approx(numbers(local), rel=1e-9, abs=1e-12)
    assert report["rows"] == 24 * 120
    names = sd.feature_names(N_FEATURES)
    assert {f["name"] for f in report["features"] if f["status"] == "alert"} == {names[j] for j in DRIFTED}
    assert sleeps == [0.5, 1.0, 2.0]  # polled until SUCCEEDED, with a growing interval

    s3 = boto3.client("s3")
    assert key == f"reports/drift/{ENDPOINT}/2026/11/26/120000.json"
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    latest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/drift/{ENDPOINT}/latest.json")["Body"].read())
    assert stored == latest == report

    (execution,) = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
    assert execution.workgroup.name == "mlops-showcase-drift"
    assert execution.context["Database"] == "mlops_showcase_capture"
    tree = sqlglot.parse_one(execution.query, read="trino")
    assert "dt >= '2026/11/25/12' AND dt <= '2026/11/26/11'" in tree.sql(dialect="trino")

    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=m.DRIFT_NAMESPACE)["Metrics"]
    per_feature = {
        (metric["MetricName"], {d["Name"]: d["Value"] for d in metric["Dimensions"]}.get(m.DIM_FEATURE))
        for metric in listed
    }
    for name in [*names, m.SCORE_FEATURE]:
        for metric_name in m.PER_FEATURE_METRICS:
            assert ((metric_name, name) in per_feature) == (metric_name in m.PUBLISHED_PER_FEATURE_METRICS)
    assert {(m.MAX_PSI, None), (m.DRIFTED_FEATURES, None), (m.CAPTURED_ROWS, None)} <= per_feature

    def latest_value(metric_name: str) -> float:
        stats = cloudwatch.get_metric_statistics(
            Namespace=m.DRIFT_NAMESPACE,
            MetricName=metric_name,
            Dimensions=[{"Name": m.DIM_ENDPOINT, "Value": ENDPOINT}],
            StartTime=END - timedelta(minutes=5),
            EndTime=END + timedelta(minutes=5),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        return stats[0]["Maximum"]

    assert latest_value(m.MAX_PSI) == pytest.approx(report["worst"]["psi"])
    assert latest_value(m.DRIFTED_FEATURES) == len(DRIFTED)
    assert latest_value(m.CAPTURED_ROWS) == report["rows"]


def test_the_lambda_entry_point_runs_from_its_environment_and_event_time(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture
) -> None:
    answer_like_athena(deployed, TimeWindow.ending(END, 24))
    summary = drift_job.handler({"source": "aws.events", "time": "2026-11-26T12:00:00Z"}, None)
    assert summary["status"] == "alert"
    assert summary["report"] == f"reports/drift/{ENDPOINT}/2026/11/26/120000.json"
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["drift"]["rows"] == 24 * 120


def test_an_empty_window_reports_no_data_and_publishes_only_the_row_count(deployed: dict[str, Any]) -> None:
    later = END + timedelta(days=30)
    answer_like_athena(deployed, TimeWindow.ending(later, 24))
    report, key = drift_run.run_drift_job(
        drift_run.DriftJobConfig.from_env(deployed["env"]),
        later,
        athena=boto3.client("athena"),
        s3=boto3.client("s3"),
        sagemaker=boto3.client("sagemaker"),
        cloudwatch=boto3.client("cloudwatch"),
    )
    assert (report["status"], report["rows"], report["features"]) == ("no_data", 0, [])
    names = {
        metric["MetricName"]
        for metric in boto3.client("cloudwatch").list_metrics(Namespace=m.DRIFT_NAMESPACE)["Metrics"]
    }
    assert names == {m.CAPTURED_ROWS}
    assert json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())["status"] == "no_data"


def test_baseline_uri_in_the_environment_skips_the_registry_lookup(deployed: dict[str, Any]) -> None:
    boto3.client("sagemaker").delete_endpoint(EndpointName=ENDPOINT)
    answer_like_athena(deployed, TimeWindow.ending(END, 24))
    config = drift_run.DriftJobConfig.from_env({**deployed["env"], "BASELINE_URI": deployed["uri"]})
    report, _ = drift_run.run_drift_job(
        config,
        END,
        athena=boto3.client("athena"),
        s3=boto3.client("s3"),
        sagemaker=boto3.client("sagemaker"),
        cloudwatch=boto3.client("cloudwatch"),
    )
    assert report["rows"] == 24 * 120


@pytest.mark.parametrize("uri", ["baseline.json", "s3://bucket-only", "https://bucket/baseline.json"])
def test_a_baseline_uri_that_is_not_an_s3_object_is_refused_naming_it(uri: str) -> None:
    with pytest.raises(drift_run.DriftJobError, match=f"baseline URI: not an s3://bucket/key URI: '{uri}'"):
        drift_run.read_baseline(None, uri)


def test_the_baseline_is_found_through_endpoint_config_model_and_package(deployed: dict[str, Any]) -> None:
    assert drift_run.find_baseline_uri(boto3.client("sagemaker"), ENDPOINT) == deployed["uri"]


def test_a_model_not_from_a_package_fails_with_a_clear_error(deployed: dict[str, Any]) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName="plain",
        ExecutionRoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker",
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/m.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="plain-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "plain",
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="plain-endpoint", EndpointConfigName="plain-config")
    with pytest.raises(drift_run.DriftJobError, match="not from a model package"):
        drift_run.find_baseline_uri(sagemaker, "plain-endpoint")


def test_a_stuck_query_is_stopped_and_fails_the_run(deployed: dict[str, Any]) -> None:
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 10_000})
    try:
        now = iter(range(0, 1000, 10))
        athena = boto3.client("athena")
        with pytest.raises(drift_run.DriftJobError, match="still QUEUED after 30 s; stopped it"):
            drift_run.run_athena_query(
                athena,
                "SELECT 1",
                database="db",
                workgroup="mlops-showcase-drift",
                timeout_seconds=30,
                sleep=lambda _: None,
                clock=lambda: float(next(now)),
            )
        (execution,) = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
        assert execution.status == "CANCELLED"
    finally:
        state_manager.unset_transition("athena::execution")


def test_a_failed_query_fails_the_run_with_athenas_reason() -> None:
    class FailingAthena:
        """Stands in for Athena answering FAILED, which moto cannot be made to do."""

        def start_query_execution(self, **_: Any) -> dict[str, str]:
            return {"QueryExecutionId": "q-1"}

        def get_query_execution(self, **_: Any) -> dict[str, Any]:
            return {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "COLUMN_NOT_FOUND: x"}}}

    with pytest.raises(drift_run.DriftJobError, match="q-1 failed: COLUMN_NOT_FOUND: x"):
        drift_run.run_athena_query(FailingAthena(), "SELECT 1", database="d", workgroup="w", timeout_seconds=5)


def test_the_job_environment_is_validated_with_the_settings_rules() -> None:
    with pytest.raises(drift_run.DriftJobError, match="CAPTURE_TABLE, ATHENA_WORKGROUP"):
        drift_run.DriftJobConfig.from_env({"ENDPOINT_NAME": "e", "CAPTURE_DATABASE": "d", "REPORT_BUCKET": "b"})
    base = {
        "ENDPOINT_NAME": "e",
        "CAPTURE_DATABASE": "d",
        "CAPTURE_TABLE": "t",
        "ATHENA_WORKGROUP": "w",
        "REPORT_BUCKET": "b",
    }
    with pytest.raises(SettingError, match="drift_psi_alert"):
        drift_run.DriftJobConfig.from_env({**base, "DRIFT_PSI_WARN": "0.5", "DRIFT_PSI_ALERT": "0.3"})
    config = drift_run.DriftJobConfig.from_env({**base, "DRIFT_MIN_ROWS": "50"})
    assert config.thresholds == DriftThresholds.from_settings(Settings(drift_min_rows=50))
    assert config.window_hours == Settings().drift_window_hours
