"""ExplainFailure Lambda (training pipeline): turn a caught error into the reason a person reads.

A failed training job's reason comes from its log (train.py's marked line), as `training_run.failure`
finds it; any other error keeps its own message. The answer replaces `$.error` ({Error, Cause}),
which the notification and the CloudFormation signal carry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlops_stacks.handlers.training_run.clients import TrainingRunClients, process_clients
from mlops_stacks.handlers.training_run.failure import explain_failure

logging.getLogger("mlops_stacks").setLevel(logging.INFO)


def handler(
    event: Mapping[str, Any], context: object = None, clients: TrainingRunClients | None = None
) -> dict[str, str]:
    """Explain `event["error"]`, caught while the run of job `event["job_name"]` trained or registered."""
    clients = clients or process_clients()
    return explain_failure(clients.sagemaker, clients.logs, str(event.get("job_name", "")), event.get("error") or {})
