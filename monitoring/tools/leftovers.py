"""What `cdk destroy --all` left behind: anything tagged with the project, and what tags miss.

The Resource Groups Tagging API finds every tagged resource CloudFormation created. It misses what
AWS creates on our behalf or outside a stack (the endpoint's and Lambdas' log groups when a service
wrote first, training-job log streams in the shared `/aws/sagemaker/TrainingJobs` group), what is
global while the tag index is regional (S3 buckets), and a still-running training job. Those are
found by the project's name prefix. Every listing is paginated.

Two kinds of tagged resource outlive every destroy and are not leftovers (`IGNORED` says so in the
report): finished training jobs, which SageMaker keeps and offers no way to delete (they cost
nothing; a running one is reported), and KMS keys pending deletion, which AWS deletes itself at
the end of their waiting period (7 days for the alert topic's key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlops_core.model_registry import VERSIONED
from mlops_core.naming import ENDPOINT_LOG_GROUP_PREFIX, TRAINING_LOG_GROUP

PROJECT_TAG = "project"
IGNORED = (
    "finished training jobs (SageMaker cannot delete them; they cost nothing)",
    "KMS keys pending deletion (AWS deletes them when their waiting period ends)",
)
# KeyState values of a key that AWS will delete by itself (KMS DescribeKey).
_KEY_DELETING = frozenset({"PendingDeletion", "PendingReplicaDeletion"})


@dataclass(frozen=True, order=True)
class Leftover:
    """One resource that still exists; `arn` identifies it (and de-duplicates between finders)."""

    kind: str
    name: str
    arn: str
    detail: str = ""


class LeftoverScanError(RuntimeError):
    """An AWS call failed, so the account could not be checked completely."""


@dataclass(frozen=True)
class Scope:
    """Where to look: the project, and the account, partition and region the session talks to."""

    project: str
    account: str
    partition: str
    region: str

    @property
    def prefix(self) -> str:
        """Every resource name of the project starts with this."""
        return f"{self.project}-"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN in this account and region (S3 bucket ARNs carry neither)."""
        if not regional:
            return f"arn:{self.partition}:{service}:::{resource}"
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


Finder = Callable[[Any, Scope], Iterable[Leftover]]


def find_leftovers(session: Any, project: str, keep_stacks: Iterable[str] = ()) -> list[Leftover]:
    """Everything of `project` that still exists in the session's account and region, sorted.

    Resources of the stacks in `keep_stacks` (deployed on purpose, e.g. the GitHub OIDC stack
    whose role runs the destroy) are not leftovers. Raises `LeftoverScanError` naming the failed
    call when any listing fails: a partial scan must not look like a clean account.
    """
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise LeftoverScanError(f"cannot identify the AWS account (sts:GetCallerIdentity): {exc}") from exc
    scope = Scope(
        project=project,
        account=identity["Account"],
        partition=identity["Arn"].split(":")[1],
        region=session.region_name,
    )
    found: dict[str, Leftover] = {}
    # Name-based finders first: their kind and detail are more telling than a bare tagged ARN.
    for finder in FINDERS:
        try:
            for item in finder(session, scope):
                found.setdefault(item.arn, item)
        except (BotoCoreError, ClientError) as exc:
            raise LeftoverScanError(f"{finder.__name__.lstrip('_')} failed: {exc}") from exc
    kept = _kept_physical_ids(session, list(keep_stacks))
    return sorted(item for item in found.values() if item.arn not in kept and item.name not in kept)


def _kept_physical_ids(session: Any, stacks: list[str]) -> set[str]:
    """Physical IDs of the resources of `stacks`, to compare with a leftover's ARN and name.

    CloudFormation gives ARNs for some types, names for others (IAM roles, buckets, log groups)
    and URLs for SQS queues, which are reduced to the queue name.
    """
    cloudformation = session.client("cloudformation")
    ids: set[str] = set()
    for stack in stacks:
        try:
            for page in _pages(cloudformation, "list_stack_resources", StackName=stack):
                for resource in page["StackResourceSummaries"]:
                    physical = resource.get("PhysicalResourceId") or ""
                    ids.add(physical.rsplit("/", 1)[-1] if physical.startswith("https://") else physical)
        except ClientError as exc:
            if "does not exist" not in exc.response["Error"].get("Message", ""):
                raise LeftoverScanError(f"listing the resources of stack {stack} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise LeftoverScanError(f"listing the resources of stack {stack} failed: {exc}") from exc
    ids.discard("")
    return ids


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    yield from client.get_paginator(operation).paginate(**kwargs)


def _log_groups(session: Any, scope: Scope) -> Iterator[Leftover]:
    logs = session.client("logs")
    for prefix in (f"{ENDPOINT_LOG_GROUP_PREFIX}{scope.prefix}", f"/aws/lambda/{scope.prefix}"):
        for page in _pages(logs, "describe_log_groups", logGroupNamePrefix=prefix):
            for group in page["logGroups"]:
                name = group["logGroupName"]
                arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
                yield Leftover("log group", name, arn, f"{group.get('storedBytes', 0)} bytes stored")


def _training_log_streams(session: Any, scope: Scope) -> Iterator[Leftover]:
    # Training job names start with the project prefix; their streams are `<job>/algo-1-<epoch>`.
    logs = session.client("logs")
    try:
        for page in _pages(
            logs, "describe_log_streams", logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=scope.prefix
        ):
            for stream in page["logStreams"]:
                name = stream["logStreamName"]
                arn = stream.get("arn") or scope.arn("logs", f"log-group:{TRAINING_LOG_GROUP}:log-stream:{name}")
                yield Leftover("log stream", f"{TRAINING_LOG_GROUP}/{name}", arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def _model_package_groups(session: Any, scope: Scope) -> Iterator[Leftover]:
    sagemaker = session.client("sagemaker")
    for page in _pages(sagemaker, "list_model_package_groups", NameContains=scope.project):
        for group in page["ModelPackageGroupSummaryList"]:
            name = group["ModelPackageGroupName"]
            if not name.startswith(scope.prefix):
                continue
            versions = sum(
                len(p["ModelPackageSummaryList"])
                for p in _pages(
                    sagemaker, "list_model_packages", ModelPackageGroupName=name, ModelPackageType=VERSIONED
                )
            )
            yield Leftover("model package group", name, group["ModelPackageGroupArn"], f"{versions} versions")


def _hosting(session: Any, scope: Scope) -> Iterator[Leftover]:
    sagemaker = session.client("sagemaker")
    listings = (
        ("endpoint", "list_endpoints", "Endpoints", "EndpointName", "EndpointArn"),
        ("endpoint config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
        ("model", "list_models", "Models", "ModelName", "ModelArn"),
    )
    for kind, operation, key, name_key, arn_key in listings:
        for page in _pages(sagemaker, operation, NameContains=scope.project):
            for item in page[key]:
                if item[name_key].startswith(scope.prefix):
                    yield Leftover(kind, item[name_key], item[arn_key], item.get("EndpointStatus", ""))


def _running_training_jobs(session: Any, scope: Scope) -> Iterator[Leftover]:
    # A job still running after destroy keeps billing its instance until its own stopping condition.
    sagemaker = session.client("sagemaker")
    for page in _pages(sagemaker, "list_training_jobs", NameContains=scope.project, StatusEquals="InProgress"):
        for job in page["TrainingJobSummaries"]:
            if job["TrainingJobName"].startswith(scope.prefix):
                yield Leftover("training job", job["TrainingJobName"], job["TrainingJobArn"], "InProgress")


def _buckets(session: Any, scope: Scope) -> Iterator[Leftover]:
    # Bucket listing is global; our buckets are named `<project>-<purpose>-<account>-<region>`.
    for page in _pages(session.client("s3"), "list_buckets"):
        for bucket in page["Buckets"]:
            if bucket["Name"].startswith(scope.prefix):
                yield Leftover("bucket", bucket["Name"], scope.arn("s3", bucket["Name"], regional=False))


def _glue_databases(session: Any, scope: Scope) -> Iterator[Leftover]:
    prefix = scope.project.replace("-", "_") + "_"
    for page in _pages(session.client("glue"), "get_databases"):
        for database in page["DatabaseList"]:
            if database["Name"].startswith(prefix):
                yield Leftover("glue database", database["Name"], scope.arn("glue", f"database/{database['Name']}"))


def _athena_workgroups(session: Any, scope: Scope) -> Iterator[Leftover]:
    athena = session.client("athena")
    kwargs: dict[str, Any] = {}
    while True:  # ListWorkGroups has a NextToken but no boto3 paginator
        page = athena.list_work_groups(**kwargs)
        for group in page["WorkGroups"]:
            if group["Name"].startswith(scope.prefix):
                yield Leftover("athena workgroup", group["Name"], scope.arn("athena", f"workgroup/{group['Name']}"))
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _ssm_parameters(session: Any, scope: Scope) -> Iterator[Leftover]:
    path_filter = [{"Key": "Path", "Option": "Recursive", "Values": [f"/{scope.project}"]}]
    for page in _pages(session.client("ssm"), "describe_parameters", ParameterFilters=path_filter):
        for parameter in page["Parameters"]:
            name = parameter["Name"]
            yield Leftover("ssm parameter", name, parameter.get("ARN") or scope.arn("ssm", f"parameter{name}"))


def _tagged_resources(session: Any, scope: Scope) -> Iterator[Leftover]:
    # The tag index can lag a deletion by a few minutes; run again before acting on a stale hit.
    tagging = session.client("resourcegroupstaggingapi")
    tag_filter = [{"Key": PROJECT_TAG, "Values": [scope.project]}]
    for page in _pages(tagging, "get_resources", TagFilters=tag_filter):
        for mapping in page["ResourceTagMappingList"]:
            arn = mapping["ResourceARN"]
            if not _outlives_destroy(session, arn):
                yield Leftover(f"tagged {_service_and_type(arn)}", _resource_name(arn), arn)


def _outlives_destroy(session: Any, arn: str) -> bool:
    """Whether a tagged resource is one of the IGNORED kinds (a running job is found by its name)."""
    kind = _service_and_type(arn)
    if kind == "sagemaker:training-job":
        return True
    if kind == "kms:key":
        state = session.client("kms").describe_key(KeyId=arn)["KeyMetadata"].get("KeyState")
        return state in _KEY_DELETING
    return False


def _split_resource(arn: str) -> tuple[str, str, str]:
    """(service, resource type, resource name) of an ARN; the type is empty when there is none."""
    service, resource = arn.split(":", 5)[2], arn.split(":", 5)[5]
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    if cut < 0:
        return service, "", resource
    return service, resource[:cut], resource[cut + 1 :]


def _service_and_type(arn: str) -> str:
    service, kind, _ = _split_resource(arn)
    return f"{service}:{kind}" if kind else service


def _resource_name(arn: str) -> str:
    return _split_resource(arn)[2]


FINDERS: tuple[Finder, ...] = (
    _log_groups,
    _training_log_streams,
    _model_package_groups,
    _hosting,
    _running_training_jobs,
    _buckets,
    _glue_databases,
    _athena_workgroups,
    _ssm_parameters,
    _tagged_resources,
)


def format_leftovers(items: list[Leftover]) -> str:
    """A table for the terminal: kind, name and detail on one line, the ARN under them."""
    if not items:
        return "nothing left (not counted: " + "; ".join(IGNORED) + ")"
    width = max(len(item.kind) for item in items)
    lines = []
    for item in items:
        lines.append(f"{item.kind:<{width}}  {item.name}  {item.detail}".rstrip())
        lines.append(f"{'':<{width}}  {item.arn}")
    return "\n".join(lines)
