"""`mlops monitor`: the health report gathered from moto (server mode, over HTTP) with data put there.

moto computes Sum/Average/Minimum/Maximum/SampleCount in GetMetricData but not percentiles: asked
for `p50` it fails with a 500, which is exactly the path where the report must fall back to
average and maximum and say so. The percentile path itself is tested on the pure summarizer.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from local.request_checks import RequestChecker
from mlops_cli import cloud_verbs
from mlops_core.settings import Settings
from monitoring import metrics as m
from monitoring.tools.health.endpoint_metrics import PercentileData, Series, TimeRange, summarize_metrics
from monitoring.tools.health.report import HealthReport, gather_health
from monitoring.tools.health.targets import (
    HealthClients,
    HealthError,
    HealthTargets,
    HealthThresholds,
    data_bucket_name,
)
from monitoring.tools.health_report import health_html, metric_rows, render_health

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
SETTINGS = Settings()
TARGETS = HealthTargets.from_settings(SETTINGS)
THRESHOLDS = HealthThresholds.from_settings(SETTINGS)
BUCKET = f"{SETTINGS.project_name}-data-{ACCOUNT}-{REGION}"
NOW = datetime.now(UTC).replace(second=30, microsecond=0)

# Per request, in microseconds: 10 at 20 ms, 20 at 30 ms, 9 at 40 ms and one slow 250 ms request.
LATENCIES_US = [20_000] * 10 + [30_000] * 20 + [40_000] * 9 + [250_000]
EXPECTED_AVG_MS = sum(LATENCIES_US) / len(LATENCIES_US) / 1000  # 35.25 ms
CLIENT_ERRORS = [1] * 4 + [0] * 36  # 4 of 40: 10 %
SERVER_ERRORS = [1] + [0] * 39  # 1 of 40: 2.5 %
SETUP_TIMES_US = [4_200_000, 2_600_000]  # two cold starts
ALARM_PREFIX = f"{SETTINGS.project_name}-observability-"
ALARMS = {
    f"{ALARM_PREFIX}LatencyAlarm1A2B3C4D-AbC123XyZ789": ("OK", "Threshold Crossed: no datapoints were breaching"),
    f"{ALARM_PREFIX}ServerErrorRateAlarmDEADBEEF-Q1w2E3r4T5y6": (
        "ALARM",
        "Threshold Crossed: 1 datapoint [0.1] was greater than the threshold (0.05).",
    ),
    f"{ALARM_PREFIX}DriftAlarm0F0F0F0F-ZZZ999": ("INSUFFICIENT_DATA", "no drift run yet"),
    # Other projects, one whose name starts with ours: never listed.
    "other-observability-LatencyAlarm1A2B3C4D-XYZ": ("ALARM", "not ours"),
    f"{SETTINGS.project_name}-2-observability-LatencyAlarm1A2B3C4D-XYZ": ("ALARM", "not ours either"),
}
DRIFT_REPORT = {
    "endpoint": TARGETS.endpoint,
    "window": {"start": "2026-11-25T10:00:00Z", "end": "2026-11-26T10:00:00Z"},
    "rows": 5000,
    "status": "alert",
    "features": [
        {"name": "age", "psi": 0.012, "js_distance": 0.03, "ks_distance": 0.02, "mean_shift_sd": 0.01,
         "missing_share": 0.0, "out_of_range_share": 0.0, "status": "ok"},
        {"name": "tenure_months", "psi": 0.412, "js_distance": 0.31, "ks_distance": 0.27, "mean_shift_sd": -0.83,
         "missing_share": 0.0, "out_of_range_share": 0.0, "status": "alert"},
    ],
    "score": {"name": m.SCORE_FEATURE, "psi": 0.13, "js_distance": 0.1, "ks_distance": 0.09, "mean_shift_sd": 0.3,
              "missing_share": 0.0, "out_of_range_share": 0.0, "status": "warn"},
    "worst": {"name": "tenure_months", "psi": 0.412},
    "skipped_lines": 0,
}  # fmt: skip
EVALUATION = {"validation": {"auc": 0.8712, "accuracy": 0.81, "log_loss": 0.41, "f1": 0.66}, "best_iteration": 40}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # The server shares moto's in-process state: start from nothing whatever ran before.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).read()
    yield url
    server.stop()


# Every request to moto, the report's own included, is checked as AWS checks it.
REQUEST_CHECKER = RequestChecker()


@pytest.fixture(autouse=True)
def no_request_aws_would_refuse() -> Iterator[None]:
    yield
    REQUEST_CHECKER.assert_clean()


def aws(name: str, url: str) -> Any:
    client = boto3.client(
        name,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )
    REQUEST_CHECKER.register(client.meta.events)
    return client


def clients(url: str) -> HealthClients:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    REQUEST_CHECKER.register(session.events)
    return HealthClients.from_session(session, endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


def datum(name: str, value: float, minutes_ago: int, endpoint: str = TARGETS.endpoint) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": m.VARIANT_NAME}],
        "Timestamp": NOW - timedelta(minutes=minutes_ago),
        "Value": float(value),
    }


def spread(values: list[int]) -> list[tuple[int, int]]:
    """(value, minutes ago): the first quarter 50 min ago, the next half 30, the rest 10."""
    n = len(values)
    return [(v, 50 if i < n // 4 else 30 if i < 3 * n // 4 else 10) for i, v in enumerate(values)]


@pytest.fixture(scope="module")
def deployed(moto_url: str) -> str:
    """Metrics, alarms, a drift report and registry versions of a deployed project, in moto."""
    cw = aws("cloudwatch", moto_url)
    sagemaker_ns = [datum(m.INVOCATIONS, 10, 50), datum(m.INVOCATIONS, 20, 30), datum(m.INVOCATIONS, 10, 10)]
    sagemaker_ns += [datum(m.MODEL_LATENCY, v, ago) for v, ago in spread(LATENCIES_US)]
    sagemaker_ns += [datum(m.INVOCATION_4XX, v, ago) for v, ago in spread(CLIENT_ERRORS)]
    sagemaker_ns += [datum(m.INVOCATION_5XX, v, ago) for v, ago in spread(SERVER_ERRORS)]
    sagemaker_ns += [datum(m.MODEL_SETUP_TIME, v, 50 - 40 * i) for i, v in enumerate(SETUP_TIMES_US)]
    sagemaker_ns += [datum(m.OVERHEAD_LATENCY, v, 30) for v in (1_000, 2_000, 3_000)]
    # Another endpoint's traffic and a datapoint older than the window: neither may be counted.
    sagemaker_ns += [datum(m.INVOCATIONS, 1000, 30, endpoint="other-endpoint"), datum(m.INVOCATIONS, 500, 120)]
    cw.put_metric_data(Namespace=m.SAGEMAKER_NAMESPACE, MetricData=sagemaker_ns)
    memory = [datum(m.MEMORY_UTILIZATION, 35.0, 50), datum(m.MEMORY_UTILIZATION, 41.0, 10)]
    cw.put_metric_data(Namespace=m.ENDPOINT_INSTANCE_NAMESPACE, MetricData=memory)

    for name, (state, reason) in ALARMS.items():
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace=m.SAGEMAKER_NAMESPACE,
            MetricName=m.MODEL_LATENCY,
            Statistic="Average",
            Period=300,
            EvaluationPeriods=1,
            Threshold=5_000_000.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    s3 = aws("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key=f"reports/drift/{TARGETS.endpoint}/latest.json", Body=json.dumps(DRIFT_REPORT).encode()
    )
    s3.put_object(Bucket=BUCKET, Key="registry/job-2/evaluation.json", Body=json.dumps(EVALUATION).encode())

    sm = aws("sagemaker", moto_url)
    sm.create_model_package_group(ModelPackageGroupName=TARGETS.model_package_group)
    arns = []
    for status, job in (("Approved", "job-1"), ("Approved", "job-2"), ("Rejected", "job-3")):
        arns.append(
            sm.create_model_package(
                ModelPackageGroupName=TARGETS.model_package_group,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": "xgboost", "ModelDataUrl": f"s3://{BUCKET}/{job}/model.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
                ModelMetrics={
                    "ModelQuality": {
                        "Statistics": {
                            "ContentType": "application/json",
                            "S3Uri": f"s3://{BUCKET}/registry/{job}/evaluation.json",
                        }
                    }
                },
                CustomerMetadataProperties={"training_job": job, "validation_auc": "0.5"},
            )["ModelPackageArn"]
        )
        time.sleep(0.01)  # distinct creation times: the newest approved version is found by time
    sm.create_model(
        ModelName="served-model",
        PrimaryContainer={"ModelPackageName": arns[1]},
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/execution",
    )
    sm.create_endpoint_config(
        EndpointConfigName="served-config",
        ProductionVariants=[
            {
                "VariantName": m.VARIANT_NAME,
                "ModelName": "served-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
    )
    sm.create_endpoint(EndpointName=TARGETS.endpoint, EndpointConfigName="served-config")
    return moto_url


@pytest.fixture(scope="module")
def report(deployed: str) -> HealthReport:
    return gather_health(clients(deployed), TARGETS, THRESHOLDS, hours=1, now=NOW)


# --- numbers ------------------------------------------------------------------------------------------------


def test_invocations_count_only_this_endpoint_inside_the_window(report: HealthReport) -> None:
    assert report.metrics is not None
    assert report.metrics.invocations == 40
    assert report.metrics.series["invocations"].values == (10.0, 20.0, 10.0)


def test_latency_is_converted_from_microseconds_to_milliseconds(report: HealthReport) -> None:
    assert report.metrics is not None
    latency = report.metrics.latency
    assert latency.samples == 40
    assert latency.average_ms == pytest.approx(EXPECTED_AVG_MS) == 35.25
    assert latency.maximum_ms == pytest.approx(250.0)
    # Per period: 20 ms, 30 ms, then (9 x 40 + 250) / 10 = 61 ms.
    assert report.metrics.series["latency_avg_ms"].values == pytest.approx((20.0, 30.0, 61.0))
    assert report.metrics.overhead.average_ms == pytest.approx(2.0)
    assert report.metrics.overhead.maximum_ms == pytest.approx(3.0)


def test_latency_percentiles_fall_back_to_average_and_maximum_when_cloudwatch_cannot_give_them(
    report: HealthReport,
) -> None:
    assert report.metrics is not None
    assert not report.metrics.percentiles_available
    assert report.metrics.latency.p50_ms is None and report.metrics.latency.p99_ms is None
    (note,) = report.metrics.notes
    assert "percentiles are unavailable" in note and "average and maximum" in note
    assert "refused percentile statistics (500" in note
    # A refused percentile call is a note, not a failure of the report.
    assert not report.errors


def test_error_rates_are_the_share_of_requests_that_failed(report: HealthReport) -> None:
    assert report.metrics is not None
    assert report.metrics.client_errors == 4 and report.metrics.client_error_rate == pytest.approx(0.10)
    assert report.metrics.server_errors == 1 and report.metrics.server_error_rate == pytest.approx(0.025)
    # Per period in percent: 4 errors among the first 10 requests, none later.
    assert report.metrics.series["client_error_percent"].values == pytest.approx((40.0, 0.0, 0.0))


def test_cold_starts_and_memory_are_summarized(report: HealthReport) -> None:
    assert report.metrics is not None
    assert report.metrics.cold_starts == 2
    assert report.metrics.cold_start_max_ms == pytest.approx(4200.0)
    assert report.metrics.cold_start_avg_ms == pytest.approx(3400.0)
    assert report.metrics.memory_avg_percent == pytest.approx(38.0)
    assert report.metrics.memory_max_percent == pytest.approx(41.0)


def test_metric_rows_flag_what_breaches_an_alarm_threshold(report: HealthReport) -> None:
    rows = {name: (value, status) for name, value, _, status in metric_rows(report)}
    assert rows["4XX error rate"] == ("10.00 % (4)", "alert")  # above the 5 % threshold
    assert rows["5XX error rate"] == ("2.50 % (1)", "ok")
    assert rows["model latency avg / max"] == ("35.25 ms / 250 ms", "ok")
    assert rows["cold starts (count, avg / max)"] == ("2, 3,400 ms / 4,200 ms", "ok")


# --- alarms, drift, registry, endpoint -------------------------------------------------------------------------


def test_only_the_projects_alarms_are_listed_with_their_states(report: HealthReport) -> None:
    listed = {alarm.short_name: alarm.state for alarm in report.alarms}
    assert listed == {"DriftAlarm": "INSUFFICIENT_DATA", "LatencyAlarm": "OK", "ServerErrorRateAlarm": "ALARM"}


def test_an_alarm_in_alarm_makes_the_report_unhealthy(report: HealthReport) -> None:
    assert not report.healthy
    (problem,) = report.problems
    assert problem.startswith("alarm ServerErrorRateAlarm is in ALARM: Threshold Crossed")


def test_the_latest_drift_report_is_read_from_the_contract_location(report: HealthReport) -> None:
    assert report.drift is not None and report.drift.error is None
    assert report.drift.uri == f"s3://{BUCKET}/reports/drift/{TARGETS.endpoint}/latest.json"
    assert report.drift.report == DRIFT_REPORT
    assert report.drift.written is not None


def test_the_newest_approved_version_and_its_evaluation_metrics_are_reported(report: HealthReport) -> None:
    registry = report.registry
    assert registry is not None
    # Version 3 is newer but rejected; version 2 is the newest approved.
    assert registry.version == 2 and registry.training_job == "job-2"
    assert registry.metrics == EVALUATION["validation"]
    assert report.endpoint is not None and report.endpoint.status == "InService"
    assert report.endpoint.served_package_arn == registry.arn


def test_a_project_that_is_not_deployed_is_reported_part_by_part(deployed: str) -> None:
    targets = HealthTargets.from_settings(Settings(project_name="absent"))
    empty = gather_health(clients(deployed), targets, THRESHOLDS, hours=1, now=NOW)
    assert empty.endpoint is not None and empty.endpoint.status == "NotFound"
    assert empty.metrics is not None and not empty.metrics.has_traffic and empty.metrics.notes == []
    assert empty.alarms == [] and empty.registry is None
    assert empty.drift is not None and empty.drift.report is None and "no drift report yet" in (empty.drift.error or "")
    assert empty.problems == ["endpoint absent-endpoint is NotFound"]


# --- the pure summarizer: percentiles as real CloudWatch would return them -------------------------------


def points(*values: float) -> Series:
    return Series.from_points((NOW + timedelta(minutes=i), v) for i, v in enumerate(values))


def test_percentiles_given_by_cloudwatch_are_reported_in_milliseconds() -> None:
    series = {"latency_sum": points(60_000.0), "latency_n": points(2.0), "latency_max": points(45_000.0)}
    percentiles = PercentileData(
        overall={"p50": 15_000.0, "p90": 40_000.0, "p99": 44_500.0}, series={"p99": points(44_500.0)}
    )
    summary = summarize_metrics(series, percentiles, 60)
    assert summary.percentiles_available and summary.notes == []
    assert (summary.latency.p50_ms, summary.latency.p90_ms, summary.latency.p99_ms) == (15.0, 40.0, 44.5)
    assert summary.latency.average_ms == 30.0
    assert summary.series["latency_p99_ms"].values == (44.5,)


def test_empty_percentile_answers_are_noted_as_a_fallback() -> None:
    series = {"latency_sum": points(60_000.0), "latency_n": points(2.0), "latency_max": points(45_000.0)}
    summary = summarize_metrics(series, PercentileData(), 60)
    assert not summary.percentiles_available
    assert "returned no percentile datapoints" in summary.notes[0]


def test_no_traffic_gives_no_rates_rather_than_zero() -> None:
    summary = summarize_metrics({}, PercentileData(), 60)
    assert summary.invocations == 0 and summary.client_error_rate is None and summary.latency.average_ms is None
    assert summary.series == {} and summary.notes == []


@pytest.mark.parametrize(
    ("hours", "period"),
    [(1, 60), (24, 720), (365, 11100)],  # beyond 15 days only 5-minute data exists: 10,980 s -> 11,100 s
)
def test_the_series_period_keeps_plots_readable_and_within_cloudwatch_resolution(hours: float, period: int) -> None:
    window = TimeRange.last_hours(hours, NOW)
    assert window.period_seconds == period
    assert window.seconds == hours * 3600 and window.end == NOW.replace(second=0) + timedelta(minutes=1)
    assert window.seconds / period <= 120


def test_a_window_outside_cloudwatch_retention_is_refused() -> None:
    with pytest.raises(HealthError, match="--hours must be more than 0 and at most 1512, got 0"):
        TimeRange.last_hours(0)
    with pytest.raises(HealthError, match="at most 1512"):
        TimeRange.last_hours(2000)


def test_the_bucket_name_is_the_one_the_storage_stack_creates() -> None:
    from aws_cdk import App, Stack

    from mlops_stacks.storage import bucket_name

    settings = Settings(project_name="health-check")
    join = Stack(App(), "s").resolve(bucket_name(settings, "data"))["Fn::Join"]
    pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION}
    resolved = "".join(part if isinstance(part, str) else pseudo[part["Ref"]] for part in join[1])
    assert data_bucket_name(settings.project_name, ACCOUNT, REGION) == resolved


# --- views ----------------------------------------------------------------------------------------------------


def test_the_html_report_embeds_the_plots_and_the_key_numbers(report: HealthReport, tmp_path: Path) -> None:
    page = health_html(report)
    text = page.write(tmp_path / "health.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # Traffic and errors, latency, cold starts and memory, drift per feature.
    assert len(images) == page.figure_count == 4
    for expected in ("35.25 ms / 250 ms", "10.00 % (4)", "4,200 ms", "ServerErrorRateAlarm", "tenure_months",
                     "0.412", "0.8712", "unhealthy", "percentiles are unavailable"):  # fmt: skip
        assert expected in text, expected


def test_the_terminal_summary_names_the_problem(report: HealthReport) -> None:
    from rich.console import Console

    console = Console(record=True, width=160)
    render_health(report, console)
    text = console.export_text()
    assert "UNHEALTHY" in text and "35.25 ms / 250 ms" in text
    assert "problem: alarm ServerErrorRateAlarm is in ALARM" in text
    assert "1 datapoint [0.1] was greater" in text, "alarm reasons print as written, not as markup"
    assert "worst tenure_months (PSI 0.412)" in text


def run_verb(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlops")
    cloud_verbs.register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_the_monitor_verb_exits_one_while_an_alarm_fires_and_zero_once_it_clears(
    deployed: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no cdk.json: the settings defaults name the resources
    argv = ["monitor", "--endpoint-url", deployed, "--region", REGION, "--hours", "2", "--json"]
    assert run_verb([*argv, "--html", str(tmp_path / "out" / "health.html")]) == 1
    output = json.loads(capsys.readouterr().out)
    assert output["healthy"] is False and output["metrics"]["invocations"] == 40
    assert output["metrics"]["latency"]["average_ms"] == pytest.approx(EXPECTED_AVG_MS)
    assert (tmp_path / "out" / "health.html").is_file()

    cw = aws("cloudwatch", deployed)
    firing = next(name for name, (state, _) in ALARMS.items() if state == "ALARM" and name.startswith(ALARM_PREFIX))
    cw.set_alarm_state(AlarmName=firing, StateValue="OK", StateReason="recovered")
    try:
        assert run_verb(argv) == 0
        assert json.loads(capsys.readouterr().out)["healthy"] is True
    finally:
        cw.set_alarm_state(AlarmName=firing, StateValue="ALARM", StateReason=ALARMS[firing][1])


def test_the_monitor_verb_exits_two_without_a_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.chdir(tmp_path)
    assert run_verb(["monitor"]) == 2
    assert "no AWS region" in capsys.readouterr().err
