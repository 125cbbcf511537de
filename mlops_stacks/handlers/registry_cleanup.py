"""Custom resource `Custom::RegistryCleanup`: what a destroy of the registry stack must remove first.

Create and Update own nothing. Delete stops this project's running training jobs, deletes the
group's versions (unless `RetainVersions`), waits for both within `training_run.delete`'s limit,
and deletes the jobs' log streams: `training_run.delete` does the work, this loop polls it within
one Lambda invocation and answers CloudFormation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from mlops_stacks.handlers.cfn_response import answer
from mlops_stacks.handlers.training_run.clients import TrainingRunClients, process_clients
from mlops_stacks.handlers.training_run.delete import delete, delete_complete
from mlops_stacks.handlers.training_run.properties import physical_resource_id

logging.getLogger("mlops_stacks").setLevel(logging.INFO)

RESOURCE_TYPE = "Custom::RegistryCleanup"
POLL_SECONDS = 15
# Time kept to answer CloudFormation before the Lambda's own timeout.
ANSWER_RESERVE_SECONDS = 60


def clean_up(
    event: dict[str, Any],
    clients: TrainingRunClients,
    seconds_left: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Delete, then poll until the clean-up is complete or the invocation runs out; the physical ID."""
    started = delete(event, clients)
    polled = {**event, "Data": started["Data"]}
    while not delete_complete(polled, clients)["IsComplete"]:
        if seconds_left() < ANSWER_RESERVE_SECONDS + POLL_SECONDS:
            logging.getLogger(__name__).warning("clean-up not complete; letting the destroy go on")
            break
        sleep(POLL_SECONDS)
    return str(started["PhysicalResourceId"])


def handler(event: dict[str, Any], context: object = None, clients: TrainingRunClients | None = None) -> None:
    """Lambda entry point: always answers CloudFormation."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)

    def seconds_left() -> float:
        return remaining_ms() / 1000 if remaining_ms else math.inf

    def handle() -> str:
        if event["RequestType"] != "Delete":
            return physical_resource_id(str(event["ResourceProperties"]["ModelPackageGroupName"]))
        return clean_up(event, clients or process_clients(), seconds_left)

    answer(event, handle)
