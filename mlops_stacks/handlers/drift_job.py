"""Drift Lambda (scheduled): one drift run over the window that ends at the event's time.

A thin shell over `monitoring.drift_run`, which holds the run and documents the environment: this
module reads the environment, makes the boto3 clients and bounds the Athena wait by the time the
Lambda has left.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitoring.drift_run import DriftJobConfig, DriftJobError, run_drift_job

# Time kept back from the Lambda's own timeout to stop the query and fail with a clear error.
SAFETY_MARGIN_SECONDS = 20.0


def _event_time(event: Mapping[str, Any]) -> datetime:
    """Return the scheduled event's time (EventBridge `time`), or now for a manual invocation."""
    text = event.get("time") if isinstance(event, Mapping) else None
    if isinstance(text, str):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise DriftJobError(f"event `time` is not an ISO 8601 time: {text!r}") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.now(UTC)


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    import boto3

    config = DriftJobConfig.from_env(os.environ)
    timeout = config.athena_timeout_seconds
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        timeout = min(timeout, context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS)
    report, key = run_drift_job(
        config,
        _event_time(event),
        athena=boto3.client("athena"),
        s3=boto3.client("s3"),
        sagemaker=boto3.client("sagemaker"),
        cloudwatch=boto3.client("cloudwatch"),
        timeout_seconds=max(timeout, 1.0),
    )
    summary = {"status": report["status"], "rows": report["rows"], "worst": report["worst"], "report": key}
    print(json.dumps({"drift": summary}))
    return summary
