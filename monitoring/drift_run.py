"""One drift run, with the AWS clients passed in: what the scheduled drift Lambda does.

It finds the served model's baseline (endpoint → endpoint config → model → model package →
DriftCheckBaselines), runs the drift query built by `monitoring.drift_query` on Athena, computes
the report with `monitoring.drift_report`, puts the metrics to CloudWatch and writes the report
to S3. Standard library and the layers below only: the Lambda handler
(`mlops_stacks/handlers/drift_job.py`) makes the clients.

The run's configuration comes from the Lambda's environment: ENDPOINT_NAME, CAPTURE_DATABASE,
CAPTURE_TABLE, ATHENA_WORKGROUP, REPORT_BUCKET, optional BASELINE_URI (skips the registry lookup),
and the drift settings in upper case (DRIFT_PSI_WARN, DRIFT_PSI_ALERT, DRIFT_MEAN_SHIFT_SD,
DRIFT_MIN_ROWS, DRIFT_WINDOW_HOURS; defaults from `Settings`), optional ATHENA_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_core.aws import split_s3_uri
from mlops_core.model_registry import served_model_package
from mlops_core.settings import Settings
from monitoring.baseline import Baseline, baseline_from_bytes
from monitoring.drift_query import ATHENA, TimeWindow, athena_table, build_drift_query
from monitoring.drift_report import METRICS_PER_CALL, build_report, metric_data, report_keys
from monitoring.drift_stats import DriftThresholds
from monitoring.metrics import DRIFT_NAMESPACE

DRIFT_SETTINGS = (
    "drift_psi_warn",
    "drift_psi_alert",
    "drift_mean_shift_sd",
    "drift_min_rows",
    "drift_window_hours",
)
DEFAULT_ATHENA_TIMEOUT_SECONDS = 300.0


class DriftJobError(RuntimeError):
    """The drift run cannot complete; the message says which step and why."""


@dataclass(frozen=True)
class DriftJobConfig:
    """What the drift job needs to know, read from its environment."""

    endpoint: str
    database: str
    table: str
    workgroup: str
    report_bucket: str
    baseline_uri: str | None
    thresholds: DriftThresholds
    window_hours: int
    athena_timeout_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DriftJobConfig:
        """Read and validate the environment; thresholds go through `Settings` validation."""
        required = ("ENDPOINT_NAME", "CAPTURE_DATABASE", "CAPTURE_TABLE", "ATHENA_WORKGROUP", "REPORT_BUCKET")
        absent = [name for name in required if not env.get(name)]
        if absent:
            raise DriftJobError(f"drift job environment lacks {', '.join(absent)}")
        settings = Settings.from_context({name: env[name.upper()] for name in DRIFT_SETTINGS if env.get(name.upper())})
        try:
            timeout = float(env.get("ATHENA_TIMEOUT_SECONDS") or DEFAULT_ATHENA_TIMEOUT_SECONDS)
        except ValueError:
            raise DriftJobError(
                f"ATHENA_TIMEOUT_SECONDS must be a number, got {env['ATHENA_TIMEOUT_SECONDS']!r}"
            ) from None
        return cls(
            endpoint=env["ENDPOINT_NAME"],
            database=env["CAPTURE_DATABASE"],
            table=env["CAPTURE_TABLE"],
            workgroup=env["ATHENA_WORKGROUP"],
            report_bucket=env["REPORT_BUCKET"],
            baseline_uri=env.get("BASELINE_URI") or None,
            thresholds=DriftThresholds.from_settings(settings),
            window_hours=settings.drift_window_hours,
            athena_timeout_seconds=timeout,
        )


def find_baseline_uri(sagemaker: Any, endpoint: str) -> str:
    """Find the S3 URI of the served model's baseline in its registered model package.

    Endpoint → endpoint config → model (first variant) → ModelPackageName →
    DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri.
    """
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    package = served_model_package(sagemaker, config_name)
    if package is None:
        raise DriftJobError(
            f"the model behind {endpoint} (config {config_name}) is not from a model package: no baseline"
        )
    description = sagemaker.describe_model_package(ModelPackageName=package)
    uri = description.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics", {}).get("S3Uri")
    if not uri:
        raise DriftJobError(f"model package {package} has no DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri")
    return uri


def read_baseline(s3: Any, uri: str) -> Baseline:
    """Load a baseline from `s3://bucket/key`."""
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as err:
        raise DriftJobError(f"baseline URI: {err}") from None
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return baseline_from_bytes(body, uri)


def run_athena_query(
    athena: Any,
    sql: str,
    *,
    database: str,
    workgroup: str,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, str | None]:
    """Run a single-row query on Athena and return that row as {column: text or None}.

    Polls with a growing interval; past `timeout_seconds` it stops the query and raises, so a
    stuck query fails this run instead of the Lambda timing out silently.
    """
    execution_id = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": database}, WorkGroup=workgroup
    )["QueryExecutionId"]
    deadline, interval = clock() + timeout_seconds, 0.5
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason", "no reason given")
            raise DriftJobError(f"Athena query {execution_id} {state.lower()}: {reason}")
        if clock() >= deadline:
            _stop_quietly(athena, execution_id)
            raise DriftJobError(f"Athena query {execution_id} still {state} after {timeout_seconds:.0f} s; stopped it")
        sleep(interval)
        interval = min(interval * 2, 5.0)
    result = athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]
    names = [c["Name"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in result["Rows"]]
    # Athena repeats the column names as the first row of a SELECT's results.
    if rows and rows[0] == names:
        rows = rows[1:]
    if len(rows) != 1:
        raise DriftJobError(f"Athena query {execution_id} returned {len(rows)} rows, expected 1")
    return dict(zip(names, rows[0], strict=True))


def _stop_quietly(athena: Any, execution_id: str) -> None:
    try:
        athena.stop_query_execution(QueryExecutionId=execution_id)
    except Exception as exc:  # the timeout error that follows is the one that matters
        print(json.dumps({"warning": f"could not stop Athena query {execution_id}: {exc}"}))


def run_drift_job(
    config: DriftJobConfig,
    end: datetime,
    *,
    athena: Any,
    s3: Any,
    sagemaker: Any,
    cloudwatch: Any,
    timeout_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], str]:
    """One drift run for the window ending at `end`: returns the report and its S3 key."""
    uri = config.baseline_uri or find_baseline_uri(sagemaker, config.endpoint)
    baseline = read_baseline(s3, uri)
    window = TimeWindow.ending(end, config.window_hours)
    query = build_drift_query(baseline, ATHENA, athena_table(config.database, config.table), window)
    row = run_athena_query(
        athena,
        query.sql,
        database=config.database,
        workgroup=config.workgroup,
        timeout_seconds=timeout_seconds or config.athena_timeout_seconds,
        sleep=sleep,
    )
    report = build_report(baseline, query.parse_row(row), config.thresholds, endpoint=config.endpoint, window=window)
    data = metric_data(report, end)
    for start in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=DRIFT_NAMESPACE, MetricData=data[start : start + METRICS_PER_CALL])
    key, latest = report_keys(config.endpoint, end)
    body = json.dumps(report, indent=2, allow_nan=False).encode()
    for target in (key, latest):
        s3.put_object(Bucket=config.report_bucket, Key=target, Body=body, ContentType="application/json")
    return report, key
