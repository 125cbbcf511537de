"""Custom resource `Custom::PipelineRun`: a deploy starts one run of a pipeline (Step Functions).

CloudFormation waits for the run on a wait condition that the run's last step signals (docs/
pipeline.md); this resource only starts it, named `<run id>-<hash of the handle>`:

- Create/Update start the execution, its input carrying the run id and the wait handle. When a
  rollback replays the old properties, the execution of that name exists already
  (ExecutionAlreadyExists): nothing starts, and the endpoint is never taken back to what an old
  run deployed. A new handle (each run gets its own) gives a new name, so a stack created again
  after a destroy starts its run anew.
- Delete stops the execution if it is still running (a cancelled deploy or a destroy); a stopped
  `.sync` task stops its training job too.

The physical ID is the execution's ARN.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mlops_stacks.handlers.cfn_response import answer

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

RESOURCE_TYPE = "Custom::PipelineRun"
# StartExecution's name: 1-80 characters; ours are letters, digits, hyphens and underscores.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,60}")
_GONE = {"ExecutionDoesNotExist", "StateMachineDoesNotExist"}


def execution_name(run_id: str, wait_handle: str) -> str:
    """The execution's name: the run id, and a hash of the wait handle this deploy waits on."""
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"resource property `RunId` must be 1-60 letters, digits, - or _, got {run_id!r}")
    return f"{run_id}-{hashlib.sha256(wait_handle.encode()).hexdigest()[:8]}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN StartExecution gives an execution of that name."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def required(properties: Mapping[str, Any], name: str) -> str:
    """A property the template must set, as the string CloudFormation passes."""
    value = properties.get(name)
    if not value:
        raise ValueError(f"resource property `{name}` is required")
    return str(value)


def run_input(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The execution's input: the `Input` property, with the run id and the wait handle."""
    try:
        extra = json.loads(properties.get("Input") or "{}")
    except json.JSONDecodeError as err:
        raise ValueError(f"resource property `Input` is not JSON ({err.msg})") from None
    if not isinstance(extra, dict):
        raise ValueError("resource property `Input` must be a JSON object")
    return {**extra, "run_id": required(properties, "RunId"), "wait_handle": required(properties, "WaitHandle")}


def start(sfn: Any, properties: Mapping[str, Any]) -> str:
    """Start the run unless an execution of its name exists; return the execution's ARN."""
    machine = required(properties, "StateMachineArn")
    name = execution_name(required(properties, "RunId"), required(properties, "WaitHandle"))
    try:
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(run_input(properties)))[
            "executionArn"
        ]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        logger.info("execution %s exists (a rollback replaying old properties): nothing started", name)
        return execution_arn(machine, name)
    logger.info("started %s", arn)
    return arn


def stop(sfn: Any, arn: str) -> None:
    """Stop the execution if it still runs; nothing when it ended or never existed.

    A stop that fails does not fail the delete: a destroy must not be held up by a run that ends
    anyway, at its own timeout or when its state machine is deleted.
    """
    if ":execution:" not in arn:
        return
    try:
        if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            sfn.stop_execution(
                executionArn=arn, error="DeployCancelled", cause="its CloudFormation resource was deleted"
            )
            logger.info("stopped %s", arn)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in _GONE:
            logger.warning("cannot stop %s (%s); it ends at its timeout or with its state machine", arn, err)


def handle(event: Mapping[str, Any], sfn: Any) -> str:
    """The physical ID after the request: the execution started (or found), or the one stopped."""
    if event["RequestType"] == "Delete":
        stop(sfn, str(event.get("PhysicalResourceId", "")))
        return str(event["PhysicalResourceId"])
    return start(sfn, event["ResourceProperties"])


def handler(event: dict[str, Any], context: object = None, client: Any = None) -> None:
    """Lambda entry point: always answers CloudFormation."""
    answer(event, lambda: handle(event, client or boto3.client("stepfunctions")))
