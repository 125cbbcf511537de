"""Every cdk-nag finding we accept, with the reason a reviewer can check. One place for all.

Each entry names a construct by its path inside its stack and acknowledges one rule on it.
`tests/test_policy.py` pins the exact wildcard resources each policy holds, so an acknowledged
policy cannot quietly grow a new wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

from mlops_core.naming import bucket_name
from mlops_core.settings import Settings


@dataclass(frozen=True)
class Accepted:
    """Accepted findings of one rule on one construct (its path inside the stack ending `-stack`).

    A finding may name another construct's logical ID as `{stack:Path}`; it is resolved at synth.
    """

    stack: str
    path: str
    findings: tuple[str, ...]
    reason: str


IAM5 = "AwsSolutions-IAM5"
# `{partition}` is `aws` (or `aws-cn`, ...) in a stack whose Region is known, else the token's form:
# `@aws-cdk/core:enablePartitionLiterals` writes the literal into ARNs, and findings quote them.
_ARN = "arn:{partition}"
_SM = f"{_ARN}:sagemaker:<AWS::Region>:<AWS::AccountId>"
_LOGS = f"{_ARN}:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker"
_BUCKET = "<{storage:Artifacts}.Arn>"  # inside the storage stack
# Other stacks address the bucket by its deterministic name (no export).
_BUCKET_BY_NAME = f"{_ARN}:s3:::" + bucket_name("{project}", "data", "<AWS::AccountId>", "<AWS::Region>")


def _iam5(*resources: str) -> tuple[str, ...]:
    return tuple(f"{IAM5}[Resource::{resource}]" for resource in resources)


ACCEPTED: tuple[Accepted, ...] = (
    Accepted(
        "storage",
        "BucketObjects/Role/DefaultPolicy",
        _iam5(
            f"{_BUCKET}/{{data_prefix}}/*",
            f"{_BUCKET}/{{code_prefix}}/*",
            f"{_BUCKET}/*",
            "<{storage:AccessLogs}.Arn>/*",
        ),
        "Our bucket-objects handler writes the training data and code under their content-hashed data/ and "
        "code/ prefixes, and "
        "on destroy deletes every object version of our two buckets (the keys are not known in advance).",
    ),
    Accepted(
        "storage",
        "SageMakerExecutionRole/DefaultPolicy",
        _iam5(
            f"{_BUCKET}/data/*",
            f"{_BUCKET}/code/*",
            f"{_BUCKET}/models/*",
            f"{_LOGS}/TrainingJobs:*",
            f"{_LOGS}/TrainingJobs:log-stream:*",
            f"{_LOGS}/Endpoints/{{endpoint}}:*",
            f"{_LOGS}/Endpoints/{{endpoint}}:log-stream:*",
            "*",
        ),
        "Object-level access under the data/, code/ and models/ key prefixes of our own bucket (object keys are "
        "content-hashed, so no fixed list exists); log streams inside the two log groups SageMaker writes "
        "to for our training jobs and our endpoint (stream names are made by SageMaker); "
        "cloudwatch:PutMetricData has no resource-level permissions and is limited by a namespace "
        "condition to SageMaker's namespaces.",
    ),
    Accepted(
        "registry",
        "TrainingPipeline/StateMachine/Role/DefaultPolicy",
        _iam5(f"{_SM}:training-job/{{project}}-*", f"{_SM}:model-package/{{project}}-models/*", "*"),
        "The training pipeline's own role, written by hand: training jobs of this project only (each run names "
        "its job <project>-<MD5 of the execution ARN>, so no fixed list exists); reading the approval status of "
        "versions inside our model package group (numbered by SageMaker); CloudWatch Logs delivery and X-Ray "
        "have no resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/"
        "cw-logs.html#cloudwatch-iam-policy).",
    ),
    Accepted(
        "registry",
        "TrainingPipeline/RegisterVersion/Role/DefaultPolicy",
        _iam5(
            f"{_SM}:training-job/{{project}}-*",
            f"{_SM}:model-package/{{project}}-models/*",
            f"{_BUCKET_BY_NAME}/models/*",
            f"{_BUCKET_BY_NAME}/registry/*",
            "*",
        ),
        "Registration reads the run's training job (this project's jobs, named per run), creates and describes "
        "versions inside our model package group (numbered by SageMaker), reads the job's artifact under "
        "models/ and writes the evaluation and baseline copies under registry/ of our bucket (keys carry the "
        "job name); ListModelPackages has no resource-level permissions.",
    ),
    Accepted(
        "registry",
        "TrainingPipeline/ExplainFailure/Role/DefaultPolicy",
        _iam5(
            f"{_SM}:training-job/{{project}}-*",
            f"{_LOGS}/TrainingJobs:*",
            f"{_LOGS}/TrainingJobs:log-stream:{{project}}-*",
        ),
        "Reads a failed run's training job (this project's jobs, named per run) and its log streams in "
        "SageMaker's shared training log group: DescribeLogStreams is authorized on the group's ARN ending "
        "in :* (botocore logs LogGroup.arn), GetLogEvents on this project's streams only.",
    ),
    Accepted(
        "registry",
        "RegistryCleanup/Function/Role/DefaultPolicy",
        _iam5(
            f"{_SM}:training-job/{{project}}-*",
            f"{_SM}:model-package/{{project}}-models/*",
            f"{_LOGS}/TrainingJobs:*",
            f"{_LOGS}/TrainingJobs:log-stream:{{project}}-*",
            "*",
        ),
        "On destroy only: stops this project's running training jobs, deletes the versions inside our model "
        "package group (numbered by SageMaker) and this project's log streams in SageMaker's shared training "
        "log group (DescribeLogStreams is authorized on the group's ARN ending in :*); ListTrainingJobs and "
        "ListModelPackages have no resource-level permissions.",
    ),
    *(
        Accepted(
            stack,
            f"{run}/Starter/Role/DefaultPolicy",
            _iam5(f"{_ARN}:states:<AWS::Region>:<AWS::AccountId>:execution:{{project}}-{purpose}:*"),
            f"Describes and stops executions of the {purpose} state machine only; an execution's name is made "
            "per deploy, so its ARN is known only at run time.",
        )
        for stack, run, purpose in (
            ("registry", "TrainingRun", "training"),
            ("endpoint", "ServedModelRun", "deployment"),
        )
    ),
    Accepted(
        "endpoint",
        "DeploymentPipeline/StateMachine/Role/DefaultPolicy",
        _iam5(f"{_SM}:endpoint-config/{{project}}-v*", f"{_SM}:model-package/{{project}}-models/*", "*"),
        "The deployment pipeline's own role, written by hand: creating or updating our one endpoint onto an "
        "endpoint config the deployer made (<project>-v<version>-<settings hash>, made per version); rejecting "
        "a version inside our model package group after a failed bake (numbered by SageMaker); CloudWatch "
        "Logs delivery and X-Ray have no resource-level permissions (https://docs.aws.amazon.com/step-"
        "functions/latest/dg/cw-logs.html#cloudwatch-iam-policy).",
    ),
    Accepted(
        "endpoint",
        "DeploymentPipeline/Deployer/Role/DefaultPolicy",
        _iam5(
            f"{_SM}:endpoint-config/{{project}}-v*",
            f"{_SM}:model/{{project}}-v*",
            f"{_SM}:model-package/{{project}}-models/*",
            f"{_ARN}:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:{{project}}-*",
            "*",
        ),
        "The deployer makes, reads and tidies only the models and endpoint configs it names "
        "<project>-v<version>-<settings hash> (one per approved version); reads versions inside our model "
        "package group (numbered by SageMaker) and this project's alarms (the guard alarms of the bake); "
        "ListModelPackages, ListModels and ListEndpointConfigs have no resource-level permissions.",
    ),
    Accepted(
        "endpoint",
        "EndpointCleanup/Function/Role/DefaultPolicy",
        _iam5(f"{_SM}:endpoint-config/{{project}}-v*", f"{_SM}:model/{{project}}-v*", "*"),
        "On destroy only: deletes the models and endpoint configs the deployer made, all named "
        "<project>-v<version>-<settings hash>; ListModels and ListEndpointConfigs have no resource-level "
        "permissions.",
    ),
    Accepted(
        "endpoint",
        "CaptureWriter/Role/DefaultPolicy",
        _iam5(f"{_BUCKET_BY_NAME}/capture/{{endpoint}}/*"),
        "PutObject under capture/<endpoint>/ of our bucket: keys are hour partitions made at run time.",
    ),
    Accepted(
        "observability",
        "DriftJob/Role/DefaultPolicy",
        _iam5(
            f"{_BUCKET_BY_NAME}/capture/{{endpoint}}/*",
            f"{_BUCKET_BY_NAME}/registry/*",
            f"{_BUCKET_BY_NAME}/athena-results/*",
            f"{_BUCKET_BY_NAME}/reports/drift/{{endpoint}}/*",
            f"{_SM}:endpoint-config/*",
            f"{_SM}:model/*",
            f"{_SM}:model-package/{{project}}-models/*",
            "*",
        ),
        "Reads capture/<endpoint>/ and registry/ (baselines), reads and writes athena-results/ and "
        "writes reports/drift/<endpoint>/ of our bucket; Describe-only on endpoint configs and models, "
        "whose generated names change with every approved version (passing them as exports would block "
        "redeploys); versions of our model package group; cloudwatch:PutMetricData has no resource-level "
        "permissions and is limited by a condition to our drift namespace.",
    ),
)

_PLACEHOLDER = re.compile(r"\{(\w+):([\w/-]+)\}")


def _construct(stacks: dict[str, Stack], suffix: str, path: str) -> IConstruct:
    construct: IConstruct = stacks[suffix]
    for part in path.split("/"):
        construct = construct.node.find_child(part)
    return construct


def _logical_id(stacks: dict[str, Stack], suffix: str, path: str) -> str:
    construct = _construct(stacks, suffix, path)
    resource = construct.node.default_child or construct
    return Stack.of(resource).get_logical_id(resource)  # type: ignore[arg-type]


def acknowledge_findings(stacks: Sequence[Stack], settings: Settings) -> None:
    """Acknowledge the accepted findings on the constructs that raise them."""
    by_suffix = {stack.stack_name.rsplit("-", 1)[-1]: stack for stack in stacks}
    names = {
        "project": settings.project_name,
        "endpoint": settings.endpoint_name,
        "data_prefix": getattr(by_suffix.get("storage"), "data_prefix", ""),
        "code_prefix": getattr(by_suffix.get("storage"), "code_prefix", ""),
    }
    for accepted in ACCEPTED:
        if accepted.stack not in by_suffix:
            continue
        target = _construct(by_suffix, accepted.stack, accepted.path)
        partition = by_suffix[accepted.stack].partition
        names["partition"] = "<AWS::Partition>" if Token.is_unresolved(partition) else partition
        for finding in accepted.findings:
            resolved = _PLACEHOLDER.sub(lambda m: _logical_id(by_suffix, m[1], m[2]), finding)
            for name, value in names.items():
                resolved = resolved.replace(f"{{{name}}}", value)
            Validations.of(target).acknowledge(Acknowledgment(id=resolved, reason=accepted.reason))
