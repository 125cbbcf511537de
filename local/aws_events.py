"""The events AWS services send to EventBridge that moto's services do not send, as PutEvents entries.

moto's S3 sends "Object Created" itself (to a bucket with EventBridge notifications on); its
SageMaker and CloudWatch send nothing. These builders give the documented shape, so the local mode
and the tests can put the event a rule of ours must match:
- "SageMaker Model Package State Change":
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package
- "CloudWatch Alarm State Change":
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
"""

from __future__ import annotations

import json
from typing import Any

from mlops_core.event_patterns import MODEL_PACKAGE_STATE_CHANGE


def model_package_state_change(package: dict[str, Any]) -> dict[str, Any]:
    """The event SageMaker sends when a version is created or its approval changes (`package`: DescribeModelPackage)."""
    detail = {
        "ModelPackageGroupName": package["ModelPackageGroupName"],
        "ModelPackageVersion": package["ModelPackageVersion"],
        "ModelPackageArn": package["ModelPackageArn"],
        "ModelApprovalStatus": package["ModelApprovalStatus"],
        "ModelPackageStatus": package.get("ModelPackageStatus", "Completed"),
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": MODEL_PACKAGE_STATE_CHANGE,
        "Resources": [package["ModelPackageArn"]],
        "Detail": json.dumps(detail),
    }


def alarm_state_change(alarm_arn: str, alarm_name: str, state: str, previous: str) -> dict[str, Any]:
    """The event CloudWatch sends when an alarm changes state."""
    detail = {"alarmName": alarm_name, "state": {"value": state}, "previousState": {"value": previous}}
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Resources": [alarm_arn],
        "Detail": json.dumps(detail),
    }
