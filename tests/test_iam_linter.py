"""IAM checked against AWS's definitions, not our reading of them.

Two checks on the app synthesized for a concrete account and Region (the templates `make deploy`
sends), every ARN resolved:

- every policy passes parliament (AWS's actions with their resource types and condition keys,
  plus its community auditors), or its finding is explained below;
- every boto3 call each Lambda's code can make (found from the code, `tests/boto3_calls.py`) is
  allowed by that Lambda's role for the IAM action and the resource ARN AWS authorizes it on.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from parliament import analyze_policy_string

from mlops_core import naming
from monitoring.metrics import DRIFT_NAMESPACE

from .boto3_calls import boto3_calls
from .conftest import CONCRETE_ACCOUNT, CONCRETE_REGION, Synthesized
from .iam_policies import PARTITION, ResolvedPolicy, Resolver
from .state_machines import definitions, tasks

TRUST = "AssumeRolePolicyDocument"


@pytest.fixture(scope="module")
def resolver(concrete_synthesized: Synthesized) -> Resolver:
    return Resolver(concrete_synthesized.templates, CONCRETE_ACCOUNT, CONCRETE_REGION)


# --- parliament ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    stack: str  # the stack's suffix: storage, registry, ...
    holder: str  # the logical ID of the resource holding the policy, without CDK's hash
    key: str  # PolicyDocument, AssumeRolePolicyDocument, KeyPolicy or Policies/<name>
    issue: str
    detail: str


@dataclass(frozen=True)
class Explained:
    """Findings we accept: glob patterns on a finding's fields, and why the policy is right anyway."""

    stack: str
    holder: str
    key: str
    issue: str
    detail: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        fields = ("stack", "holder", "key", "issue", "detail")
        return all(fnmatch.fnmatchcase(getattr(finding, name), getattr(self, name)) for name in fields)


OIDC_DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html"
EXPLAINED: tuple[Explained, ...] = (
    Explained(
        "*",
        "*",
        TRUST,
        "CREDENTIALS_EXPOSURE",
        "sts:assumerole",
        "A trust policy exists to let its principal take the role's credentials; each of ours names one "
        "service principal (lambda, sagemaker or states).",
    ),
    Explained(
        "oidc",
        "*Role",
        TRUST,
        "CREDENTIALS_EXPOSURE",
        "sts:assumerolewithwebidentity",
        "GitHub's OIDC tokens get this role's credentials only with aud sts.amazonaws.com and a sub naming this "
        "repository's main branch (deploy) or its pull requests (diff).",
    ),
    Explained(
        "oidc",
        "*Role",
        "Policies/AssumeCdk*",
        "CREDENTIALS_EXPOSURE",
        "sts:assumerole",
        "The workflows' roles exist to assume the CDK bootstrap roles of this account and Region, each named in "
        "full: the CDK CLI deploys, publishes assets and looks up through those roles.",
    ),
    Explained(
        "oidc",
        "*Role",
        TRUST,
        "UNKNOWN_FEDERATION_SOURCE",
        "arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com",
        f"An IAM OIDC provider's ARN is the documented principal of web identity federation ({OIDC_DOCS}); "
        "parliament 1.6.4 knows only SAML providers and four public identity providers.",
    ),
    Explained(
        "oidc",
        "*Role",
        TRUST,
        "UNKNOWN_CONDITION_FOR_ACTION",
        "Unknown condition token.actions.githubusercontent.com:* for action sts:AssumeRoleWithWebIdentity",
        "OIDC federation's condition keys carry the provider's name (<provider>:aud, <provider>:sub), which "
        f"AWS documents for sts:AssumeRoleWithWebIdentity ({OIDC_DOCS}); parliament's definitions list only "
        "the global keys.",
    ),
    Explained(
        "storage",
        "BucketObjectsRoleDefaultPolicy",
        "PolicyDocument",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "s3:deletebucketpolicy",
        "On destroy the handler first deletes the access-log bucket's policy, so that the logging service "
        "stops writing into the bucket it empties; granted on that one bucket.",
    ),
    Explained(
        "*",
        "*",
        "PolicyDocument",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "iam:passrole*",
        "The training pipeline's CreateTrainingJob and the deployer's CreateModel pass the SageMaker execution "
        "role; PassRole is granted on that one role and only towards sagemaker.amazonaws.com (iam:PassedToService).",
    ),
    Explained(
        "*",
        "*StateMachineRoleDefaultPolicy",
        "PolicyDocument",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "*logs:putresourcepolicy",
        "Part of the policy Step Functions documents for delivering a state machine's execution logs to "
        "CloudWatch Logs (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy); "
        "log delivery has no resource-level permissions, and our groups sit under /aws/vendedlogs/.",
    ),
    Explained(
        "*",
        "*RunStarterRoleDefaultPolicy",
        "PolicyDocument",
        "RESOURCE_MISMATCH",
        "*'action': 'states:DescribeExecution', 'required_format': 'arn:*:states:*:*:express:*:*:*'*",
        "DescribeExecution is authorized on an execution or on an Express execution; parliament 1.6.4 requires "
        "both. Our pipelines are Standard state machines, whose executions are `execution:<name>:<id>`.",
    ),
    Explained(
        "endpoint",
        "DeploymentPipelineDeployerRoleDefaultPolicy",
        "PolicyDocument",
        "RESOURCE_MISMATCH",
        "*'action': 'states:ListExecutions', 'required_format': 'arn:*:states:*:*:mapRun:*/*:*'*",
        "ListExecutions is authorized on a state machine (its executions) or on a Map Run (a Distributed Map's "
        "child executions); parliament 1.6.4 requires both. The deployer lists the deployment pipeline's own "
        "executions, on that state machine's ARN.",
    ),
    Explained(
        "storage",
        "AlertKey",
        "KeyPolicy",
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "*",
        "CDK's default key policy lets the account administer the key, so that it can never become "
        "unmanageable (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).",
    ),
    Explained(
        "storage",
        "AlertKey",
        "KeyPolicy",
        "RESOURCE_STAR",
        "*",
        'In a key policy, "Resource": "*" means this key and nothing else (https://docs.aws.amazon.com/kms/'
        "latest/developerguide/key-policy-overview.html).",
    ),
)


def _holder(logical_id: str) -> str:
    return re.sub(r"[0-9A-F]{8}$", "", logical_id)


def _linted_document(policy: ResolvedPolicy, resolver: Resolver) -> dict[str, Any]:
    """The document as parliament should read it: a trust policy's resource is its role."""
    if policy.key != TRUST:
        return policy.document
    role = resolver.arn(policy.stack, policy.logical_id)
    return {**policy.document, "Statement": [{**s, "Resource": role} for s in policy.document["Statement"]]}


def _detail(finding: Any) -> str:
    actions = (finding.location or {}).get("actions")
    if actions:
        return ",".join(sorted(actions))
    detail = finding.detail
    return ",".join(sorted(map(str, detail))) if isinstance(detail, list) else str(detail or "")


def parliament_findings(resolver: Resolver) -> Iterator[Finding]:
    """parliament's findings (its own auditors and the community ones) on every policy of the app."""
    for policy in resolver.policies():
        document = json.dumps(_linted_document(policy, resolver))
        for finding in analyze_policy_string(document, include_community_auditors=True).findings:
            stack = policy.stack.rsplit("-", 1)[-1]
            yield Finding(stack, _holder(policy.logical_id), policy.key, finding.issue, _detail(finding))


def test_every_policy_passes_the_iam_linter_or_its_finding_is_explained(resolver: Resolver) -> None:
    findings = set(parliament_findings(resolver))
    unexplained = sorted(f for f in findings if not any(e.covers(f) for e in EXPLAINED))
    assert unexplained == []
    stale = [e for e in EXPLAINED if not any(e.covers(f) for f in findings)]
    assert stale == []
    assert all(len(e.reason) > 60 for e in EXPLAINED)


def test_the_linter_knows_our_actions_and_refuses_a_wrong_resource_form() -> None:
    # The linter is no rubber stamp: an object action on a bucket ARN is a mismatch it reports.
    wrong = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}],
    }
    assert [f.issue for f in analyze_policy_string(json.dumps(wrong)).findings] == ["RESOURCE_MISMATCH"]


# --- every boto3 call has its permission ---------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """An IAM action on a resource ARN, with the request context its conditions see."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.action, self.resource, tuple(sorted(self.context.items()))))


@dataclass(frozen=True)
class Names:
    """The concrete names of one deployment, as the stacks give them."""

    project: str
    bucket: str
    log_bucket: str
    group: str
    job: str
    endpoint: str
    workgroup: str
    database: str
    table: str
    execution_role: str
    copy_source: str
    copy_target: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{CONCRETE_REGION}:{CONCRETE_ACCOUNT}:{resource}"

    def object(self, key: str, bucket: str | None = None) -> str:
        return f"arn:{PARTITION}:s3:::{bucket or self.bucket}/{key}"


def _names(synthesized: Synthesized, resolver: Resolver) -> Names:
    stacks = synthesized.stacks
    project = stacks.storage.stack_name.rsplit("-", 1)[0]
    storage = synthesized.templates[stacks.storage.stack_name]
    (copy,) = [
        r["Properties"]
        for r in storage["Resources"].values()
        if r["Type"] == "Custom::TrainingData" and str(r["Properties"]["Prefix"]).startswith(naming.DATA_PREFIX)
    ]
    first = json.loads(resolver.resolve(stacks.storage.stack_name, copy["Objects"]))[0]
    bucket = naming.bucket_name(project, "data", CONCRETE_ACCOUNT, CONCRETE_REGION)
    role = stacks.storage.get_logical_id(stacks.storage.execution_role.node.default_child)
    states_arn = f"arn:{PARTITION}:states:{CONCRETE_REGION}:{CONCRETE_ACCOUNT}"
    return Names(
        project=project,
        bucket=bucket,
        log_bucket=naming.bucket_name(project, "logs", CONCRETE_ACCOUNT, CONCRETE_REGION),
        group=stacks.registry.group_name,
        # A training run's job: `<project>-<MD5 of its execution ARN>`, as the pipeline names it.
        job=naming.pipeline_job_name(project, f"{states_arn}:execution:{project}-training:810e4689e95a9f7c-0a1b2c3d"),
        endpoint=stacks.endpoint.endpoint_name,
        workgroup=f"{project}-drift",
        database=stacks.endpoint.capture_database,
        table=stacks.endpoint.capture_table,
        execution_role=resolver.arn(stacks.storage.stack_name, role),
        copy_source=f"arn:{PARTITION}:s3:::{first['source']}",
        copy_target=f"arn:{PARTITION}:s3:::{bucket}/{first['key']}",
    )


Needs = Callable[[Names], list[Permission]]


def _training_log(n: Names) -> str:
    return n.arn("logs", f"log-group:{naming.TRAINING_LOG_GROUP}")


def _needs(n: Names) -> dict[tuple[str, str], list[Permission]]:
    """What each boto3 call needs, per service and operation, on the resource it touches in this project.

    Where one call needs more than its own action, the documentation says so: CreateTrainingJob with
    Tags needs AddTags and passes the execution role; HeadObject answers 403 instead of 404 without
    ListBucket (botocore s3 HeadObject); Athena reads the table's data and writes its results with
    the caller's permissions, and GetQueryResults needs GetObject on the results (botocore athena).
    """
    job = n.arn("sagemaker", f"training-job/{n.job}")
    version = n.arn("sagemaker", f"model-package/{n.group}/1")
    artifact = f"{naming.MODELS_PREFIX}/{n.job}/output/model.tar.gz"
    stream = f"{_training_log(n)}:log-stream:{n.job}/algo-1-1700000000"
    results = n.object(f"{naming.ATHENA_RESULTS_PREFIX}/0a1b2c3d.csv")
    workgroup = n.arn("athena", f"workgroup/{n.workgroup}")
    endpoint = n.arn("sagemaker", f"endpoint/{n.endpoint}")
    # The deployer names a version's model and endpoint config `<project>-v<version>-<settings hash>`.
    model = n.arn("sagemaker", f"model/{n.project}-v3-0a1b2c3d")
    config = n.arn("sagemaker", f"endpoint-config/{n.project}-v3-0a1b2c3d")
    return {
        ("sagemaker", "CreateTrainingJob"): [
            Permission("sagemaker:CreateTrainingJob", job),
            Permission("sagemaker:AddTags", job),
            Permission("iam:PassRole", n.execution_role, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        ],
        ("sagemaker", "DescribeTrainingJob"): [Permission("sagemaker:DescribeTrainingJob", job)],
        ("sagemaker", "StopTrainingJob"): [Permission("sagemaker:StopTrainingJob", job)],
        ("sagemaker", "ListTrainingJobs"): [Permission("sagemaker:ListTrainingJobs", "*")],
        ("sagemaker", "ListModelPackages"): [Permission("sagemaker:ListModelPackages", "*")],
        ("sagemaker", "CreateModelPackage"): [Permission("sagemaker:CreateModelPackage", version)],
        ("sagemaker", "DescribeModelPackage"): [Permission("sagemaker:DescribeModelPackage", version)],
        ("sagemaker", "DeleteModelPackage"): [Permission("sagemaker:DeleteModelPackage", version)],
        ("sagemaker", "DescribeEndpoint"): [Permission("sagemaker:DescribeEndpoint", endpoint)],
        ("sagemaker", "DescribeEndpointConfig"): [Permission("sagemaker:DescribeEndpointConfig", config)],
        ("sagemaker", "DescribeModel"): [Permission("sagemaker:DescribeModel", model)],
        ("sagemaker", "CreateModel"): [
            Permission("sagemaker:CreateModel", model),
            Permission("sagemaker:AddTags", model),
            Permission("iam:PassRole", n.execution_role, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        ],
        ("sagemaker", "CreateEndpointConfig"): [
            Permission("sagemaker:CreateEndpointConfig", config),
            Permission("sagemaker:AddTags", config),
        ],
        ("sagemaker", "DeleteModel"): [Permission("sagemaker:DeleteModel", model)],
        ("sagemaker", "DeleteEndpointConfig"): [Permission("sagemaker:DeleteEndpointConfig", config)],
        ("sagemaker", "DeleteEndpoint"): [Permission("sagemaker:DeleteEndpoint", endpoint)],
        ("sagemaker", "ListModels"): [Permission("sagemaker:ListModels", "*")],
        ("sagemaker", "ListEndpointConfigs"): [Permission("sagemaker:ListEndpointConfigs", "*")],
        ("cloudwatch", "DescribeAlarms"): [
            Permission("cloudwatch:DescribeAlarms", n.arn("cloudwatch", f"alarm:{n.project}-LatencyAlarm"))
        ],
        ("stepfunctions", "ListExecutions"): [
            Permission("states:ListExecutions", n.arn("states", f"stateMachine:{n.project}-deployment"))
        ],
        ("s3", "HeadObject"): [
            Permission("s3:GetObject", n.object(artifact)),
            Permission("s3:ListBucket", f"arn:{PARTITION}:s3:::{n.bucket}", {"s3:prefix": artifact}),
        ],
        ("logs", "DescribeLogStreams"): [Permission("logs:DescribeLogStreams", f"{_training_log(n)}:*")],
        ("logs", "GetLogEvents"): [Permission("logs:GetLogEvents", stream)],
        ("logs", "DeleteLogStream"): [Permission("logs:DeleteLogStream", stream)],
        ("athena", "StartQueryExecution"): [
            Permission("athena:StartQueryExecution", workgroup),
            Permission("glue:GetDatabase", n.arn("glue", f"database/{n.database}")),
            Permission("glue:GetTable", n.arn("glue", f"table/{n.database}/{n.table}")),
            Permission("glue:GetPartitions", n.arn("glue", f"table/{n.database}/{n.table}")),
            Permission("s3:ListBucket", f"arn:{PARTITION}:s3:::{n.bucket}"),
            Permission("s3:GetBucketLocation", f"arn:{PARTITION}:s3:::{n.bucket}"),
            Permission("s3:GetObject", n.object(f"{naming.CAPTURE_PREFIX}/{n.endpoint}/2026/11/27/12/a.jsonl")),
            Permission("s3:PutObject", results),
        ],
        ("athena", "GetQueryExecution"): [Permission("athena:GetQueryExecution", workgroup)],
        ("athena", "GetQueryResults"): [
            Permission("athena:GetQueryResults", workgroup),
            Permission("s3:GetObject", results),
        ],
        ("athena", "StopQueryExecution"): [Permission("athena:StopQueryExecution", workgroup)],
        ("cloudwatch", "PutMetricData"): [
            Permission("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": DRIFT_NAMESPACE})
        ],
        ("s3", "CopyObject"): [Permission("s3:GetObject", n.copy_source), Permission("s3:PutObject", n.copy_target)],
        ("s3", "DeleteBucketPolicy"): [Permission("s3:DeleteBucketPolicy", f"arn:{PARTITION}:s3:::{n.log_bucket}")],
        ("s3", "ListObjectVersions"): [
            Permission("s3:ListBucketVersions", f"arn:{PARTITION}:s3:::{bucket}") for bucket in (n.bucket, n.log_bucket)
        ],
        ("s3", "DeleteObjects"): [
            Permission(action, n.object("any/key", bucket))
            for action in ("s3:DeleteObject", "s3:DeleteObjectVersion")
            for bucket in (n.bucket, n.log_bucket)
        ],
    }


def _per_function(n: Names) -> dict[str, dict[tuple[str, str], list[Permission]]]:
    """Where one operation touches different objects in different functions, each function's own."""
    report = f"reports/drift/{n.endpoint}/2026/11/27/120000.json"

    def run(purpose: str) -> dict[tuple[str, str], list[Permission]]:
        machine = n.arn("states", f"stateMachine:{n.project}-{purpose}")
        execution = n.arn("states", f"execution:{n.project}-{purpose}:0a1b2c3d4e5f6a7b-0a1b2c3d")
        return {
            ("stepfunctions", "StartExecution"): [Permission("states:StartExecution", machine)],
            ("stepfunctions", "DescribeExecution"): [Permission("states:DescribeExecution", execution)],
            ("stepfunctions", "StopExecution"): [Permission("states:StopExecution", execution)],
        }

    return {
        f"{n.project}-training-run": run("training"),
        f"{n.project}-deployment-run": run("deployment"),
        f"{n.project}-register-version": {
            ("s3", "GetObject"): [Permission("s3:GetObject", n.object(f"models/{n.job}/output/model.tar.gz"))],
            ("s3", "PutObject"): [Permission("s3:PutObject", n.object(f"registry/{n.job}/evaluation.json"))],
        },
        f"{n.project}-drift-job": {
            ("s3", "GetObject"): [Permission("s3:GetObject", n.object(f"registry/{n.job}/baseline.json"))],
            ("s3", "PutObject"): [Permission("s3:PutObject", n.object(report))],
        },
        f"{n.project}-capture-writer": {
            ("s3", "PutObject"): [
                Permission("s3:PutObject", n.object(f"capture/{n.endpoint}/2026/11/27/12/0a1b2c3d.jsonl"))
            ],
        },
    }


def _pattern_matches(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "StringEquals" and actual not in _as_list(expected):
                return False
            if operator in ("StringLike", "ArnLike") and not any(
                _pattern_matches(e, actual) for e in _as_list(expected)
            ):
                return False
            if operator not in ("StringEquals", "StringLike", "ArnLike"):
                return False
    return True


def allows(statements: list[dict[str, Any]], permission: Permission) -> bool:
    """Whether these identity-policy statements allow the permission (and none denies it)."""

    def matches(statement: dict[str, Any]) -> bool:
        return (
            any(_pattern_matches(a, permission.action, case=False) for a in _as_list(statement.get("Action", [])))
            and any(_pattern_matches(r, permission.resource) for r in _as_list(statement.get("Resource", [])))
            and _conditions_hold(statement.get("Condition", {}), permission.context)
        )

    effects = {statement["Effect"] for statement in statements if matches(statement)}
    return "Allow" in effects and "Deny" not in effects


def _functions(synthesized: Synthesized) -> Iterator[tuple[str, str, str, str]]:
    """(stack, function name, handler, role logical ID) of every Python Lambda of the app."""
    for stack, template in synthesized.templates.items():
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and str(properties.get("Runtime")).startswith("python"):
                yield stack, properties["FunctionName"], properties["Handler"], properties["Role"]["Fn::GetAtt"][0]


def _role_statements(resolver: Resolver, stack: str, role: str) -> list[dict[str, Any]]:
    statements = []
    for policy in resolver.policies():
        if policy.stack != stack or policy.key == TRUST:
            continue
        attached = {"Ref": role} in policy.resource.get("Properties", {}).get("Roles", [])
        inline = policy.logical_id == role and policy.key.startswith("Policies/")
        if attached or inline:
            statements += policy.document["Statement"]
    return statements


def test_every_boto3_call_of_every_lambda_is_allowed_by_its_role(
    concrete_synthesized: Synthesized, resolver: Resolver
) -> None:
    names = _names(concrete_synthesized, resolver)
    shared, own = _needs(names), _per_function(names)
    missing, unknown = [], []
    functions = list(_functions(concrete_synthesized))
    assert len(functions) == 12
    for stack, function, handler, role in functions:
        calls = boto3_calls(handler)
        statements = _role_statements(resolver, stack, role)
        if not calls.operations:
            # A handler that calls no AWS API (the wait signal PUTs to a pre-signed URL) only writes its logs.
            actions = {a for s in statements for a in _as_list(s["Action"])}
            assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}, f"{function} ({handler})"
            continue
        for call in sorted(calls.operations):
            needed = own.get(function, {}).get(call) or shared.get(call)
            if needed is None:
                unknown.append(f"{function}: {call}")
                continue
            missing += [f"{function}: {call} needs {p}" for p in needed if not allows(statements, p)]
    assert unknown == [], "say which resource these calls touch in _needs / _per_function"
    assert missing == []


def test_the_training_logs_are_read_on_the_arn_forms_aws_authorizes(
    concrete_synthesized: Synthesized, resolver: Resolver
) -> None:
    names = _names(concrete_synthesized, resolver)
    (statements,) = [
        _role_statements(resolver, stack, role)
        for stack, function, _, role in _functions(concrete_synthesized)
        if function == f"{names.project}-explain-failure"
    ]
    group = _training_log(names)
    # DescribeLogStreams is authorized on `log-group:NAME:*`; a grant on the bare ARN alone is denied.
    assert allows(statements, Permission("logs:DescribeLogStreams", f"{group}:*"))
    assert not any(group in _as_list(s.get("Resource")) for s in statements)
    # Only this project's streams, and no other group's.
    assert not allows(statements, Permission("logs:GetLogEvents", f"{group}:log-stream:other-0a1b2c3d4e5f/algo-1-1"))
    assert not allows(
        statements, Permission("logs:GetLogEvents", names.arn("logs", "log-group:/aws/lambda/x:log-stream:y"))
    )


def test_the_execution_role_cannot_create_the_endpoints_log_group(
    concrete_synthesized: Synthesized, resolver: Resolver
) -> None:
    stacks = concrete_synthesized.stacks
    role = stacks.storage.get_logical_id(stacks.storage.execution_role.node.default_child)
    statements = _role_statements(resolver, stacks.storage.stack_name, role)
    names = _names(concrete_synthesized, resolver)
    endpoint_group = names.arn("logs", f"log-group:{naming.endpoint_log_group_name(names.endpoint)}")
    for form in (endpoint_group, f"{endpoint_group}:*"):
        assert not allows(statements, Permission("logs:CreateLogGroup", form))
    # It still writes there, and SageMaker may still create its shared training log group.
    assert allows(statements, Permission("logs:PutLogEvents", f"{endpoint_group}:log-stream:AllTraffic/abc"))
    assert allows(statements, Permission("logs:CreateLogGroup", _training_log(names)))


# --- every task of each pipeline has its permission ----------------------------------------------


def _task_needs(n: Names, state: dict[str, Any], key_arn: str) -> list[Permission]:
    """What Step Functions needs to run one task state (the service integrations' IAM pages say which)."""
    resource, parameters = state["Resource"], state.get("Parameters", {})
    if ":lambda:" in resource and ":function:" in resource:
        return [Permission("lambda:InvokeFunction", resource)]
    integration = resource.split(":::", 1)[1]
    endpoint = n.arn("sagemaker", f"endpoint/{n.endpoint}")
    config = n.arn("sagemaker", f"endpoint-config/{n.project}-v3-0a1b2c3d")
    version = n.arn("sagemaker", f"model-package/{n.group}/3")
    job = n.arn("sagemaker", f"training-job/{n.job}")
    # https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html (the `.sync` pattern's rule too)
    sync_rule = n.arn("events", "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule")
    needs = {
        "sns:publish": [
            Permission("sns:Publish", parameters.get("TopicArn", "")),
            Permission("kms:GenerateDataKey", key_arn),
            Permission("kms:Decrypt", key_arn),
        ],
        "sagemaker:createTrainingJob.sync": [
            Permission("sagemaker:CreateTrainingJob", job),
            Permission("sagemaker:AddTags", job),
            Permission("sagemaker:DescribeTrainingJob", job),
            Permission("sagemaker:StopTrainingJob", job),
            Permission(
                "iam:PassRole", str(parameters.get("RoleArn")), {"iam:PassedToService": "sagemaker.amazonaws.com"}
            ),
            *(Permission(f"events:{a}", sync_rule) for a in ("PutTargets", "PutRule", "DescribeRule")),
        ],
        "aws-sdk:sagemaker:describeModelPackage": [Permission("sagemaker:DescribeModelPackage", version)],
        "aws-sdk:sagemaker:describeEndpoint": [Permission("sagemaker:DescribeEndpoint", endpoint)],
        "sagemaker:createEndpoint": [
            Permission("sagemaker:CreateEndpoint", endpoint),
            Permission("sagemaker:CreateEndpoint", config),
            Permission("sagemaker:AddTags", endpoint),
        ],
        "sagemaker:updateEndpoint": [
            Permission("sagemaker:UpdateEndpoint", endpoint),
            Permission("sagemaker:UpdateEndpoint", config),
        ],
        "aws-sdk:sagemaker:updateModelPackage": [
            Permission(
                "sagemaker:UpdateModelPackage",
                version,
                {"sagemaker:ModelApprovalStatus": str(parameters.get("ModelApprovalStatus"))},
            )
        ],
    }
    return needs.get(integration, [Permission(f"unknown:{integration}", resource)])


def test_every_task_of_each_pipeline_is_allowed_by_the_state_machines_own_role(
    concrete_synthesized: Synthesized, resolver: Resolver
) -> None:
    names = _names(concrete_synthesized, resolver)
    storage = concrete_synthesized.stacks.storage
    key_arn = resolver.arn(storage.stack_name, storage.get_logical_id(storage.topic_key.node.default_child))
    machines = definitions(concrete_synthesized.templates, CONCRETE_ACCOUNT, CONCRETE_REGION)
    missing, checked = [], 0
    for stack, template in concrete_synthesized.templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            properties = resource["Properties"]
            statements = _role_statements(resolver, stack, properties["RoleArn"]["Fn::GetAtt"][0])
            for name, state in tasks(machines[properties["StateMachineName"]]):
                checked += 1
                missing += [f"{name}: {p}" for p in _task_needs(names, state, key_arn) if not allows(statements, p)]
    assert checked >= 15
    assert missing == []


def test_the_deployment_pipeline_may_only_reject_a_version_never_approve_one(
    concrete_synthesized: Synthesized, resolver: Resolver
) -> None:
    names = _names(concrete_synthesized, resolver)
    endpoint = concrete_synthesized.stacks.endpoint
    role = endpoint.get_logical_id(endpoint.deployment.pipeline.role.node.default_child)
    statements = _role_statements(resolver, endpoint.stack_name, role)
    version = names.arn("sagemaker", f"model-package/{names.group}/3")
    key = "sagemaker:ModelApprovalStatus"
    assert allows(statements, Permission("sagemaker:UpdateModelPackage", version, {key: "Rejected"}))
    assert not allows(statements, Permission("sagemaker:UpdateModelPackage", version, {key: "Approved"}))
