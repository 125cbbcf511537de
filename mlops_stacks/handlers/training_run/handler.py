"""The Lambda entry points of the TrainingRun (the Provider framework's onEvent and isComplete).

Each maps a CloudFormation event onto `create` or `delete` and turns every error into a short
message that names the job. Clients are injected (`clients=`); without them, the process's own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlops_stacks.handlers.training_run.clients import TrainingRunClients
from mlops_stacks.handlers.training_run.create import check, start
from mlops_stacks.handlers.training_run.delete import delete, delete_complete
from mlops_stacks.handlers.training_run.errors import PropertyError, TrainingRunError, truncate_utf8

logger = logging.getLogger(__name__)
# Every module of the package logs at INFO: Lambda's root logger passes WARNING and above only.
logging.getLogger(__package__).setLevel(logging.INFO)

# A custom resource's response must stay under 4096 bytes; the framework adds the log group
# name and a stack trace to our message, so the message itself stays well below that.
MAX_MESSAGE_BYTES = 1500


@functools.cache
def process_clients() -> TrainingRunClients:
    """The clients of this Lambda process, made on first use and kept across invocations."""
    return TrainingRunClients()


@contextmanager
def _user_facing_errors(event: dict[str, Any]) -> Iterator[None]:
    """Turn every error into a short message that names the job, for the CloudFormation event."""
    try:
        yield
    except (TrainingRunError, PropertyError) as err:
        raise type(err)(truncate_utf8(str(err), MAX_MESSAGE_BYTES)) from err
    except Exception as err:
        job = event.get("ResourceProperties", {}).get("JobName", "?")
        message = f"training run {job}: {type(err).__name__}: {err}"
        raise TrainingRunError(truncate_utf8(message, MAX_MESSAGE_BYTES)) from err


def on_event(
    event: dict[str, Any], context: object = None, clients: TrainingRunClients | None = None
) -> dict[str, Any]:
    """Start the job on Create/Update, clean up on Delete (the Provider's onEvent)."""
    request = event.get("RequestType")
    logger.info("%s %s", request, event.get("PhysicalResourceId", ""))
    with _user_facing_errors(event):
        if request in {"Create", "Update"}:
            return start(event, clients or process_clients())
        if request == "Delete":
            return delete(event, clients or process_clients())
        raise PropertyError(f"RequestType must be Create, Update or Delete, got {request!r}")


def is_complete(
    event: dict[str, Any], context: object = None, clients: TrainingRunClients | None = None
) -> dict[str, Any]:
    """Report whether the job finished and its model is registered, or cleanup is done (isComplete)."""
    with _user_facing_errors(event):
        if event.get("RequestType") == "Delete":
            return delete_complete(event, clients or process_clients())
        return check(event, clients or process_clients())
