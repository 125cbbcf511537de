"""Capture Lambda: the endpoint log group's subscription events → hour-partitioned JSONL in S3.

A thin shell over `monitoring.capture`. Invoked asynchronously by CloudWatch Logs. A malformed
capture record costs only itself: it is skipped and counted (`skipped` in the summary line), and
its neighbours are written. An S3 failure or an event that is no subscription payload at all
raises, so Lambda retries the event and finally sends it to the dead-letter queue. Object keys
derive from the log events themselves, so a retry overwrites what a failed attempt wrote.
Environment: CAPTURE_BUCKET, ENDPOINT_NAME.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from monitoring.capture import capture_objects, decode_cloudwatch_logs_event, records_from_log_lines


def write_capture(event: Mapping[str, Any], s3: Any, bucket: str, endpoint: str) -> dict[str, int]:
    """Decode one subscription event, write its records to S3, and count what happened."""
    batch = decode_cloudwatch_logs_event(event)
    records, skipped = records_from_log_lines(batch.messages)
    objects = capture_objects(records, endpoint, batch.batch_id) if records else {}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
    return {
        "events": len(batch.messages),
        "records": len(records),
        "skipped": skipped,
        "objects": len(objects),
    }


def handler(event: Mapping[str, Any], context: Any) -> dict[str, int]:
    """Lambda entry point."""
    import boto3

    summary = write_capture(event, boto3.client("s3"), os.environ["CAPTURE_BUCKET"], os.environ["ENDPOINT_NAME"])
    # One JSON line per invocation: Logs Insights can sum `skipped` over time.
    print(json.dumps({"capture": summary}))
    return summary
