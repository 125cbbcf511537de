"""The AWS clients of a training run's Lambdas, injected: each is the one given, else made with boto3 on first use.

As powertools' idempotency persistence layer takes a boto3 client and makes one only when none is
given. Building a client costs 0.1-0.3 s: a Lambda keeps one set per process (`process_clients`),
and makes the CloudWatch Logs client only when a failed job or a delete needs it. Tests pass
clients of their own, or let these be made inside moto's mock.
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


class TrainingRunClients:
    """SageMaker, S3 and CloudWatch Logs clients, each the one given or made on first use (standard retries)."""

    def __init__(self, *, sagemaker: Any = None, s3: Any = None, logs: Any = None) -> None:
        self._sagemaker, self._s3, self._logs = sagemaker, s3, logs

    @cached_property
    def sagemaker(self) -> Any:
        """Training jobs and model package versions."""
        return self._sagemaker or boto3.client("sagemaker", config=RETRIES)

    @cached_property
    def s3(self) -> Any:
        """The model artifact and the registry's copies of its files."""
        return self._s3 or boto3.client("s3", config=RETRIES)

    @cached_property
    def logs(self) -> Any:
        """The training log group: a failed job's reason, and its streams on destroy."""
        return self._logs or boto3.client("logs", config=RETRIES)


@functools.cache
def process_clients() -> TrainingRunClients:
    """The clients of this Lambda process, made on first use and kept across invocations."""
    return TrainingRunClients()
