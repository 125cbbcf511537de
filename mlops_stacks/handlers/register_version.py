"""RegisterVersion Lambda (training pipeline): register the trained job's model behind the quality gate.

A shell over `training_run.registration`; the deployment's settings come from the environment
(`RegistrationConfig.from_env`), the job and the run from the state: `{"job_name", "training_run"}`.
The answer (`RegisteredVersion.as_output`) goes to `$.version`; its `status` decides the next state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from mlops_stacks.handlers.training_run.clients import TrainingRunClients, process_clients
from mlops_stacks.handlers.training_run.registration import RegistrationConfig, register_job_model

logging.getLogger("mlops_stacks").setLevel(logging.INFO)


def handler(
    event: Mapping[str, Any], context: object = None, clients: TrainingRunClients | None = None
) -> dict[str, Any]:
    """Register the model of `event["job_name"]`; its version's ARN, number, status and reason."""
    clients = clients or process_clients()
    config = RegistrationConfig.from_env(os.environ)
    version = register_job_model(
        clients.sagemaker, clients.s3, config, str(event["job_name"]), training_run=str(event.get("training_run", ""))
    )
    return version.as_output()
