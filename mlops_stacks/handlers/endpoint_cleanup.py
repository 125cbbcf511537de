"""Custom resource `Custom::EndpointCleanup`: on destroy, remove what the deployment pipeline made.

The endpoint stack holds no endpoint, config or model of its own (the pipeline is their only
writer, docs/pipeline.md), so CloudFormation would leave them behind. Delete removes the endpoint,
waits until it is gone, then deletes every `<project>-v<version>-<hash>` config and model
(`rollout.delete_deployed`). Create and Update own nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

from mlops_stacks.handlers.cfn_response import answer
from mlops_stacks.handlers.rollout import ServingSpec, delete_deployed

logging.getLogger("mlops_stacks").setLevel(logging.INFO)

RESOURCE_TYPE = "Custom::EndpointCleanup"


def handler(event: dict[str, Any], context: object = None, client: Any = None) -> None:
    """Lambda entry point: always answers CloudFormation, even when the environment is wrong."""

    def handle() -> str:
        spec = ServingSpec.from_env(os.environ)
        if event["RequestType"] == "Delete":
            deleted = delete_deployed(client or boto3.client("sagemaker"), spec)
            logging.getLogger(__name__).info("deleted %s", ", ".join(deleted) or "nothing")
        return spec.endpoint

    answer(event, handle)
