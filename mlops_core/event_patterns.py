"""The EventBridge event patterns that start the pipelines, as plain dicts.

One definition for the stacks, the local demo and the tests.

Each pattern matches the event as the AWS service documents it:
- S3 "Object Created" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), sent
  when the bucket has EventBridge notifications on;
- SageMaker "SageMaker Model Package State Change"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html),
  sent when a version is created and when its approval status changes;
- CloudWatch "CloudWatch Alarm State Change"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
"""

from __future__ import annotations

from typing import Any

from mlops_core.quality_gate import APPROVED, REJECTED

# The object whose arrival says "the labelled data under the prefix is complete": one run per batch,
# not one per CSV file.
READY_MARKER = "_ready"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


def ready_marker_key(labelled_data_prefix: str) -> str:
    """The key that starts a training run on new labelled data."""
    return f"{labelled_data_prefix}/{READY_MARKER}"


def new_labelled_data(bucket: str, labelled_data_prefix: str) -> dict[str, Any]:
    """The ready marker written under the labelled-data prefix of the data bucket."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [ready_marker_key(labelled_data_prefix)]}},
    }


def approval_decided(group: str) -> dict[str, Any]:
    """A version of our group became Approved or Rejected (created so, or decided by a person).

    Rejected too: rejecting the serving version rolls the endpoint back to the newest approved one.
    """
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        "detail": {"ModelPackageGroupName": [group], "ModelApprovalStatus": [APPROVED, REJECTED]},
    }


def drift_alarm_fired(alarm_name: str) -> dict[str, Any]:
    """The drift alarm went to ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [alarm_name], "state": {"value": ["ALARM"]}},
    }
