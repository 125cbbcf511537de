"""The pipelines' last step when a deploy waits on them: signal its CloudFormation wait condition.

CloudFormation waits for a training or deployment run on an AWS::CloudFormation::WaitCondition
(up to 12 hours; a custom resource waits one). The run's input carries the condition's handle, a
pre-signed URL; this Lambda PUTs the signal document to it (https://docs.aws.amazon.com/
AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html): SUCCESS, or FAILURE with the
reason, which fails the deploy at once and shows in its events. The URL needs no AWS permission.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from mlops_stacks.handlers.cfn_response import fitting, put_json
from mlops_stacks.handlers.state_errors import cause_text

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

STATUSES = ("SUCCESS", "FAILURE")
# The whole document stays within what CloudFormation takes from a custom resource's response.
MAX_SIGNAL_BYTES = 4096


def signal_body(status: str, reason: str, unique_id: str) -> bytes:
    """The wait condition signal: status, the reason on one line (cut to fit), and the run's id."""
    if status not in STATUSES:
        raise ValueError(f"a wait condition signal is SUCCESS or FAILURE, got {status!r}")

    def body(text: str) -> bytes:
        return json.dumps({"Status": status, "Reason": text, "UniqueId": unique_id, "Data": text}).encode()

    line = cause_text(reason) or status.lower()
    # The reason appears twice (Reason, and Data, which a stack output could show): each gets half.
    return body(fitting(line, (MAX_SIGNAL_BYTES - len(body(""))) // 2))


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, str]:
    """Signal the handle in `event` (`handle`, `status`, `reason`, `unique_id`); returns what was sent."""
    status, unique_id = str(event["status"]), str(event["unique_id"])
    put_json(str(event["handle"]), signal_body(status, str(event.get("reason") or ""), unique_id))
    logger.info("signalled %s for %s", status, unique_id)
    return {"signalled": status}
