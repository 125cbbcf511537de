"""What the endpoint serves a version with, the model and endpoint config made for it, and their clean-up.

The deployment pipeline is the only writer of the endpoint, its configs and its models (the
endpoint stack holds none of them, docs/pipeline.md). A version's model and config share one name,
`<project>-v<version>-<settings hash>`: the same version with the same serving settings gives the
same name, so a repeated rollout creates nothing, and a settings change (memory, concurrency, the
execution role) gives a new config to roll out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found
from mlops_core.sagemaker_inputs import project_tags, tag_list
from mlops_core.settings import Settings
from monitoring.metrics import VARIANT_NAME

logger = logging.getLogger(__name__)

# DeleteEndpoint is asynchronous; a serverless endpoint is gone within minutes.
ENDPOINT_DELETE_WAIT_SECONDS = 600
ENDPOINT_DELETE_POLL_SECONDS = 10


@dataclass(frozen=True)
class ServingSpec:
    """How the endpoint serves: its name, the role its models run as, the serverless capacity, the tags."""

    project: str
    endpoint: str
    role_arn: str
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, role_arn: str) -> ServingSpec:
        """The spec the settings give (the stack passes it to the deployment Lambda as `as_env`)."""
        return cls(
            project=settings.project_name,
            endpoint=settings.endpoint_name,
            role_arn=role_arn,
            memory_mb=settings.serverless_memory_size,
            max_concurrency=settings.serverless_max_concurrency,
            provisioned_concurrency=settings.serverless_provisioned_concurrency,
            tags=project_tags(settings),
        )

    def as_env(self) -> dict[str, str]:
        """The spec as Lambda environment variables."""
        return {
            "PROJECT_NAME": self.project,
            "ENDPOINT_NAME": self.endpoint,
            "EXECUTION_ROLE_ARN": self.role_arn,
            "MEMORY_MB": str(self.memory_mb),
            "MAX_CONCURRENCY": str(self.max_concurrency),
            "PROVISIONED_CONCURRENCY": str(self.provisioned_concurrency),
            "TAGS": json.dumps(dict(self.tags), sort_keys=True),
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServingSpec:
        """Read the spec back from the Lambda's environment (`as_env`)."""
        missing = [name for name in ("PROJECT_NAME", "ENDPOINT_NAME", "EXECUTION_ROLE_ARN") if not env.get(name)]
        if missing:
            raise ValueError(f"environment lacks {', '.join(missing)}")
        return cls(
            project=env["PROJECT_NAME"],
            endpoint=env["ENDPOINT_NAME"],
            role_arn=env["EXECUTION_ROLE_ARN"],
            memory_mb=int(env.get("MEMORY_MB") or 2048),
            max_concurrency=int(env.get("MAX_CONCURRENCY") or 1),
            provisioned_concurrency=int(env.get("PROVISIONED_CONCURRENCY") or 0),
            tags=json.loads(env.get("TAGS") or "{}"),
        )

    @property
    def settings_hash(self) -> str:
        """Eight hex digits that change with anything the model or the endpoint config is made with."""
        shaping = [self.role_arn, self.memory_mb, self.max_concurrency, self.provisioned_concurrency, VARIANT_NAME]
        return hashlib.sha256(json.dumps(shaping).encode()).hexdigest()[:8]

    def resource_name(self, version: int) -> str:
        """The name of the model and of the endpoint config that serve `version` (at most 63 characters)."""
        return f"{self.project}-v{version}-{self.settings_hash}"

    def is_ours(self, name: str) -> bool:
        """Whether a model or endpoint config name is one the deployer makes for this project."""
        return re.fullmatch(rf"{re.escape(self.project)}-v\d+-[0-9a-f]{{8}}", name) is not None

    def model_request(self, name: str, package_arn: str) -> dict[str, Any]:
        """CreateModel: the version's model package, run as the execution role."""
        return {
            "ModelName": name,
            "PrimaryContainer": {"ModelPackageName": package_arn},
            "ExecutionRoleArn": self.role_arn,
            "Tags": tag_list(self.tags),
        }

    def config_request(self, name: str) -> dict[str, Any]:
        """CreateEndpointConfig: one serverless variant of the model of the same name."""
        serverless: dict[str, int] = {"MemorySizeInMB": self.memory_mb, "MaxConcurrency": self.max_concurrency}
        if self.provisioned_concurrency:
            serverless["ProvisionedConcurrency"] = self.provisioned_concurrency
        return {
            "EndpointConfigName": name,
            "ProductionVariants": [{"VariantName": VARIANT_NAME, "ModelName": name, "ServerlessConfig": serverless}],
            "Tags": tag_list(self.tags),
        }


def _exists(describe: Callable[[], Any]) -> bool:
    try:
        describe()
    except ClientError as err:
        if is_not_found(err):
            return False
        raise
    return True


def describe_endpoint(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """DescribeEndpoint, or None when there is no endpoint of that name."""
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


def create_model_and_config(sagemaker: Any, spec: ServingSpec, package_arn: str, version: int) -> str:
    """Make the model and endpoint config that serve `version`, unless they exist; return their name."""
    name = spec.resource_name(version)
    if not _exists(lambda: sagemaker.describe_model(ModelName=name)):
        sagemaker.create_model(**spec.model_request(name, package_arn))
        logger.info("created model %s of %s", name, package_arn)
    if not _exists(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name)):
        sagemaker.create_endpoint_config(**spec.config_request(name))
        logger.info("created endpoint config %s", name)
    return name


def our_configs_and_models(sagemaker: Any, spec: ServingSpec) -> tuple[list[str], list[str]]:
    """The endpoint configs and models the deployer made for this project, by name."""
    contains = f"{spec.project}-v"
    configs = [
        item["EndpointConfigName"]
        for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=contains)
        for item in page["EndpointConfigs"]
    ]
    models = [
        item["ModelName"]
        for page in sagemaker.get_paginator("list_models").paginate(NameContains=contains)
        for item in page["Models"]
    ]
    return sorted(filter(spec.is_ours, configs)), sorted(filter(spec.is_ours, models))


def tidy(sagemaker: Any, spec: ServingSpec, keep: Iterable[str]) -> list[str]:
    """Delete this project's configs and models but those named in `keep`; return what was deleted."""
    kept = set(keep)
    configs, models = our_configs_and_models(sagemaker, spec)
    deleted = []
    for name in (n for n in configs if n not in kept):
        if _deleted(lambda name=name: sagemaker.delete_endpoint_config(EndpointConfigName=name)):
            deleted.append(f"endpoint-config/{name}")
    for name in (n for n in models if n not in kept):
        if _deleted(lambda name=name: sagemaker.delete_model(ModelName=name)):
            deleted.append(f"model/{name}")
    if deleted:
        logger.info("deleted %s", ", ".join(deleted))
    return deleted


def _deleted(delete: Callable[[], Any]) -> bool:
    try:
        delete()
    except ClientError as err:
        if is_not_found(err):
            return False
        raise
    return True


def delete_deployed(
    sagemaker: Any,
    spec: ServingSpec,
    *,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = ENDPOINT_DELETE_WAIT_SECONDS,
) -> list[str]:
    """Delete the endpoint, wait until it is gone, then every config and model the deployer made (destroy).

    Nothing already gone is an error. Returns what was deleted.
    """
    deleted = []
    endpoint = describe_endpoint(sagemaker, spec.endpoint)
    deleting = endpoint is None or endpoint["EndpointStatus"] == "Deleting"
    if not deleting and _deleted(lambda: sagemaker.delete_endpoint(EndpointName=spec.endpoint)):
        deleted.append(f"endpoint/{spec.endpoint}")
    waited = 0.0
    while _exists(lambda: sagemaker.describe_endpoint(EndpointName=spec.endpoint)):
        if waited >= wait_seconds:
            # A config still in use cannot be deleted; say so and let the destroy go on.
            logger.warning("endpoint %s still exists after %.0f s; its config may be left", spec.endpoint, waited)
            break
        sleep(ENDPOINT_DELETE_POLL_SECONDS)
        waited += ENDPOINT_DELETE_POLL_SECONDS
    return deleted + tidy(sagemaker, spec, keep=())
