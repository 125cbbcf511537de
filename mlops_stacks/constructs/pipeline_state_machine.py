"""What the training and the deployment pipeline share: the state machine, its role and its states' shapes.

Each pipeline is a Standard Step Functions state machine named `<project>-<purpose>`, logged at
level ALL (without execution data) to its own `/aws/vendedlogs/states/` group, traced with X-Ray,
and run by a role whose statements are written here by hand: CDK's generated grants
(`training-job/*`, `<function>:*`) are switched off with `without_policy_updates()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlops_core import pipeline_states as states
from mlops_core.settings import Settings
from mlops_stacks.constructs.python_function import PythonFunction, ignore_redundant_depends_on, retention

# Set on every execution by the PipelineRun that starts it for a deploy (handlers/pipeline_run.py).
WAIT_HANDLE = "$.wait_handle"
ERROR = "$.error"


# Values that Step Functions evaluates: state paths, context paths and intrinsic functions.
_DYNAMIC_PREFIXES = ("$.", "$$.", "States.")


def _dynamic(value: Any) -> bool:
    return isinstance(value, str) and (value == "$" or value.startswith(_DYNAMIC_PREFIXES))


def state_parameters(value: Any) -> Any:
    """A request with paths (`$.x`, `$$.x`) and intrinsics (`States.x(...)`) as values, as Parameters (`key.$`)."""
    if isinstance(value, Mapping):
        return {(f"{key}.$" if _dynamic(item) else key): state_parameters(item) for key, item in value.items()}
    if isinstance(value, list):
        return [state_parameters(item) for item in value]
    return value


class PipelineStateMachine(Construct):
    """A Standard state machine with its log group and its own hand-written role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        purpose: str,
        definition: sfn.IChainable,
        timeout: Duration,
        statements: Sequence[iam.PolicyStatement],
        topic: sns.ITopic,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = settings.name(purpose)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            # Step Functions logs to /aws/vendedlogs/ without growing the account's log resource policy.
            log_group_name=f"/aws/vendedlogs/states/{self.name}",
            retention=retention(settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Runs the {self.name} state machine",
        )
        for statement in [*statements, *self._common_statements(topic, topic_key)]:
            self.role.add_to_policy(statement)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=self.role.without_policy_updates(),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        # CreateStateMachine checks that the role may deliver the logs: the policy must come first.
        self.state_machine.node.add_dependency(self.role)
        ignore_redundant_depends_on(self.state_machine)

    @staticmethod
    def _common_statements(topic: sns.ITopic, topic_key: kms.IKey) -> list[iam.PolicyStatement]:
        """Notifications to the encrypted alert topic, log delivery and tracing."""
        return [
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[topic_key.key_arn]),
            # Log delivery and X-Ray have no resource-level permissions
            # (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy).
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            ),
        ]


def invoke(
    scope: Construct, state: str, function: lambda_.IFunction, payload: Mapping[str, Any], result_path: str
) -> tasks.LambdaInvoke:
    """A Lambda task that passes `payload` (paths and intrinsics evaluated) and keeps the answer at `result_path`."""
    return tasks.LambdaInvoke(
        scope,
        state,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(state_parameters(payload)),
        payload_response_only=True,
        result_path=result_path,
    )


def notify(scope: Construct, state: str, topic: sns.ITopic, message: str, then: sfn.State) -> tasks.SnsPublish:
    """Publish `message` (a `States.Format(...)` expression) to the alert topic, then go on to `then`.

    A notification that still fails after its retries goes on to `then` as well: an e-mail must not
    decide the run, nor keep a waiting deploy from its signal.
    """
    task = tasks.SnsPublish(
        scope,
        state,
        topic=topic,
        message=sfn.TaskInput.from_json_path_at(message),
        result_path=sfn.JsonPath.DISCARD,
    )
    task.add_retry(errors=[sfn.Errors.ALL], max_attempts=3, interval=Duration.seconds(2), backoff_rate=2)
    task.add_catch(then, errors=[sfn.Errors.ALL], result_path=sfn.JsonPath.DISCARD)
    task.next(then)
    return task


def wait_signal_function(scope: Construct, settings: Settings, purpose: str) -> PythonFunction:
    """The Lambda that signals the wait condition of the deploy that started a `purpose` run."""
    return PythonFunction(
        scope,
        "SignalDeploy",
        function_name=settings.name(f"{purpose}-signal"),
        handler="mlops_stacks.handlers.wait_signal.handler",
        description=f"Signals the wait condition of the deploy that started a {purpose} run",
        log_retention_days=settings.log_retention_days,
    )


def signal(scope: Construct, state: str, function: lambda_.IFunction, status: str, reason: str) -> tasks.LambdaInvoke:
    """Signal the wait handle of the deploy that started this run (`handlers/wait_signal.py`)."""
    task = invoke(
        scope,
        state,
        function,
        {"handle": WAIT_HANDLE, "status": status, "reason": reason, "unique_id": "$$.Execution.Name"},
        sfn.JsonPath.DISCARD,
    )
    # A signal that does not arrive leaves the deploy waiting for hours: try it a few times.
    task.add_retry(errors=[sfn.Errors.TASKS_FAILED], interval=Duration.seconds(5), max_attempts=3)
    return task


def succeeded(scope: Construct, function: lambda_.IFunction, reason: str, end: str) -> sfn.Choice:
    """The success tail: signal SUCCESS if a deploy waits on this run, then succeed."""
    done = sfn.Succeed(scope, end)
    return (
        sfn.Choice(scope, states.SIGNAL_SUCCESS_CHOICE)
        .when(
            sfn.Condition.is_present(WAIT_HANDLE),
            signal(scope, states.SIGNAL_SUCCESS, function, "SUCCESS", reason).next(done),
        )
        .otherwise(done)
    )


def failed(scope: Construct, function: lambda_.IFunction, end: str) -> sfn.Choice:
    """The failure tail: signal FAILURE with `$.error`'s cause if a deploy waits on this run, then fail."""
    done = sfn.Fail(scope, end, error_path=f"{ERROR}.Error", cause_path=f"{ERROR}.Cause")
    return (
        sfn.Choice(scope, states.SIGNAL_FAILURE_CHOICE)
        .when(
            sfn.Condition.is_present(WAIT_HANDLE),
            signal(scope, states.SIGNAL_FAILURE, function, "FAILURE", f"{ERROR}.Cause").next(done),
        )
        .otherwise(done)
    )


def error_from(scope: Construct, state: str, name: str, cause: str) -> sfn.Pass:
    """A failure that no Catch gave: `$.error` = {Error: name, Cause: cause (a path or an intrinsic)}."""
    return sfn.Pass(
        scope,
        state,
        parameters=state_parameters({"Error": name, "Cause": cause}),
        result_path=ERROR,
    )


def sagemaker_task(scope: Construct, state: str, action: str, parameters: Mapping[str, Any]) -> sfn.CustomState:
    """A SageMaker request-response task (`arn:<partition>:states:::sagemaker:<action>`) whose result is dropped."""
    return sfn.CustomState(
        scope,
        state,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Stack.of(scope).partition}:states:::sagemaker:{action}",
            "Parameters": state_parameters(parameters),
            "ResultPath": None,
        },
    )


def arn(scope: Construct, service: str, resource: str) -> str:
    """An ARN of the deploying account and Region (as tokens, like every ARN the stacks write by hand)."""
    return f"arn:{Stack.of(scope).partition}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"
