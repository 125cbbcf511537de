"""DeploymentPipeline: roll the newest approved version out to the serverless endpoint, bake it, or revert.

The pipeline is the endpoint's only writer: it creates the endpoint, its configs and its models
(the endpoint stack holds none, so CloudFormation can never roll the endpoint back to an older
model). Each run converges on the newest approved version: create, or update and bake (the guard
alarms must stay quiet and the version approved for `bake_minutes`), and on a failed bake revert
to the previous config and reject the version. A version's approval or rejection starts a run
(the rule below); so does each deploy whose training run or serving settings changed
(`PipelineRun` in the endpoint stack). docs/pipeline.md draws the states.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlops_core import pipeline_states as states
from mlops_core.event_patterns import approval_decided
from mlops_core.quality_gate import REJECTED
from mlops_core.sagemaker_inputs import project_tags, tag_list
from mlops_core.settings import Settings
from mlops_stacks.constructs.event_rules import event_pattern, start_pipeline
from mlops_stacks.constructs.pipeline_state_machine import (
    ERROR,
    PipelineStateMachine,
    arn,
    error_from,
    failed,
    invoke,
    notify,
    sagemaker_task,
    state_parameters,
    succeeded,
    wait_signal_function,
)
from mlops_stacks.constructs.python_function import PythonFunction
from mlops_stacks.handlers.rollout import BUSY, CREATE, NONE, UPDATE, ServingSpec
from monitoring.alarm_rules import guard_alarm_names

ENDPOINT_POLL = Duration.seconds(30)
BUSY_WAIT = Duration.minutes(1)
# Besides the bake: waiting for older runs, creating or updating a serverless endpoint, a revert.
RUN_OVERHEAD = Duration.hours(2)
# Create and Update are tried again on any error before the run re-plans (another run may be updating).
REQUEST_ATTEMPTS = 3


class DeploymentPipeline(Construct):
    """The deployment pipeline: state machine, role, log group, its two Lambdas and the approval rule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        execution_role_arn: str,
        topic: sns.ITopic,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.topic = topic
        self.spec = ServingSpec.from_settings(settings, execution_role_arn)
        self.timeout = Duration.minutes(settings.bake_minutes).plus(RUN_OVERHEAD)
        name = settings.name("deployment")
        self._functions(name, execution_role_arn)

        endpoint_arn = arn(self, "sagemaker", f"endpoint/{settings.endpoint_name}")
        configs_arn = arn(self, "sagemaker", f"endpoint-config/{self._our_prefix}*")
        statements = [
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f.function.function_arn for f in (self.deployer, self.signal)],
            ),
            # CreateEndpoint and UpdateEndpoint are authorized on the endpoint and on its config.
            iam.PolicyStatement(
                actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
                resources=[endpoint_arn, configs_arn],
            ),
            iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint", "sagemaker:AddTags"], resources=[endpoint_arn]),
            # It may only reject: the revert after a failed bake.
            iam.PolicyStatement(
                actions=["sagemaker:UpdateModelPackage"],
                resources=[arn(self, "sagemaker", f"model-package/{settings.model_package_group_name.lower()}/*")],
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": REJECTED}},
            ),
        ]
        self.pipeline = PipelineStateMachine(
            self,
            "StateMachine",
            settings=settings,
            purpose="deployment",
            definition=self._definition(),
            timeout=self.timeout,
            statements=statements,
            topic=topic,
            topic_key=topic_key,
        )
        self.state_machine = self.pipeline.state_machine
        events.Rule(
            self,
            "ApprovalDecided",
            description="A version of the model package group was approved or rejected: converge the endpoint",
            event_pattern=event_pattern(approval_decided(settings.model_package_group_name)),
            targets=[
                start_pipeline(
                    self.state_machine,
                    "approval",
                    {
                        "event": {
                            "version": events.EventField.from_path("$.detail.ModelPackageVersion"),
                            "status": events.EventField.from_path("$.detail.ModelApprovalStatus"),
                        }
                    },
                )
            ],
        )

    @property
    def _our_prefix(self) -> str:
        """Models and configs the deployer makes are `<project>-v<version>-<hash>` (lowercase in ARNs)."""
        return f"{self.settings.project_name}-v"

    def _functions(self, state_machine_name: str, execution_role_arn: str) -> None:
        """The deployment Lambda (prepare, check the bake, confirm) and the wait signal."""
        s = self.settings
        self.deployer = PythonFunction(
            self,
            "Deployer",
            function_name=s.name("deployment"),
            handler="mlops_stacks.handlers.deployment.handler",
            description="Plans a rollout and makes its model and config, judges the bake, confirms the run",
            log_retention_days=s.log_retention_days,
            timeout=Duration.minutes(2),
            environment={
                **self.spec.as_env(),
                "MODEL_PACKAGE_GROUP": s.model_package_group_name,
                "GUARD_ALARMS": json.dumps(guard_alarm_names(s)),
            },
        )
        self.signal = wait_signal_function(self, s, "deployment")
        prefix = self._our_prefix
        for statement in (
            # List calls have no resource-level permissions.
            iam.PolicyStatement(
                actions=["sagemaker:ListModelPackages", "sagemaker:ListEndpointConfigs", "sagemaker:ListModels"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelPackage"],
                resources=[arn(self, "sagemaker", f"model-package/{s.model_package_group_name.lower()}/*")],
            ),
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"],
                resources=[arn(self, "sagemaker", f"endpoint/{s.endpoint_name}")],
            ),
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:AddTags",
                ],
                resources=[arn(self, "sagemaker", f"endpoint-config/{prefix}*")],
            ),
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:AddTags",
                ],
                resources=[arn(self, "sagemaker", f"model/{prefix}*")],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[execution_role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms"],
                resources=[arn(self, "cloudwatch", f"alarm:{s.project_name}-*")],
            ),
            # By name: a reference to the state machine would make a cycle (it invokes this function).
            iam.PolicyStatement(
                actions=["states:ListExecutions"], resources=[arn(self, "states", f"stateMachine:{state_machine_name}")]
            ),
        ):
            self.deployer.role.add_to_policy(statement)

    def _definition(self) -> sfn.IChainable:
        """Apply settings → prepare → create or update → wait → bake → confirm (or revert and reject)."""
        s, topic, fn = self.settings, self.topic, self.signal.function
        endpoint = s.endpoint_name
        apply_settings = sfn.Pass(
            self,
            states.APPLY_SETTINGS,
            parameters={
                "timing": {
                    "endpoint_poll_seconds": int(ENDPOINT_POLL.to_seconds()),
                    "busy_wait_seconds": int(BUSY_WAIT.to_seconds()),
                    "bake_seconds": s.bake_minutes * 60,
                }
            },
            result_path="$.run",
        )
        sink = notify(
            self,
            states.NOTIFY_NOT_DEPLOYED,
            topic,
            f"States.Format('{s.project_name}: deployment run {{}} did not deploy. {{}}: {{}}', "
            f"$$.Execution.Name, {ERROR}.Error, {ERROR}.Cause)",
            failed(self, fn, states.NOT_DEPLOYED),
        )

        def step(state: str, name: str, result_path: str) -> tasks.LambdaInvoke:
            task = invoke(self, state, self.deployer.function, {"step": name, "state": "$"}, result_path)
            task.add_catch(sink, errors=[sfn.Errors.ALL], result_path=ERROR)
            return task

        prepare = invoke(
            self,
            states.PREPARE,
            self.deployer.function,
            {
                "step": "prepare",
                "state": "$",
                "execution": {"id": "$$.Execution.Id", "started": "$$.Execution.StartTime"},
            },
            "$.plan",
        )
        prepare.add_catch(sink, errors=[sfn.Errors.ALL], result_path=ERROR)
        busy = sfn.Wait(self, states.WAIT_WHILE_BUSY, time=sfn.WaitTime.seconds_path("$.run.timing.busy_wait_seconds"))
        busy.next(prepare)

        wait = sfn.Wait(
            self, states.WAIT_FOR_ENDPOINT, time=sfn.WaitTime.seconds_path("$.run.timing.endpoint_poll_seconds")
        )
        create = self._endpoint_request(states.CREATE_ENDPOINT, "createEndpoint", busy)
        update = self._endpoint_request(states.UPDATE_ENDPOINT, "updateEndpoint", busy)
        create.next(wait)
        update.next(wait)

        not_passed = error_from(self, states.NOT_PASSED, "NotDeployed", "$.outcome.reason").next(sink)
        reject = tasks.CallAwsService(
            self,
            states.REJECT_VERSION,
            service="sagemaker",
            action="updateModelPackage",
            parameters=state_parameters(
                {
                    "ModelPackageArn": "$.plan.target_arn",
                    "ModelApprovalStatus": REJECTED,
                    "ApprovalDescription": "$.outcome.reason",
                }
            ),
            iam_resources=[arn(self, "sagemaker", "model-package/*")],
            result_path=sfn.JsonPath.DISCARD,
        )
        reject.add_catch(sink, errors=[sfn.Errors.ALL], result_path=ERROR)
        reject.next(not_passed)

        revert_wait = sfn.Wait(
            self, states.WAIT_FOR_REVERT, time=sfn.WaitTime.seconds_path("$.run.timing.endpoint_poll_seconds")
        )
        revert = sagemaker_task(
            self,
            states.REVERT_ENDPOINT,
            "updateEndpoint",
            {"EndpointName": endpoint, "EndpointConfigName": "$.plan.previous_config"},
        )
        # A revert that SageMaker refuses still rejects the version: the next run converges again.
        revert.add_catch(reject, errors=[sfn.Errors.ALL], result_path="$.revert_error")
        reverted = (
            sfn.Choice(self, states.REVERTED)
            .when(sfn.Condition.string_equals("$.endpoint.status", "InService"), reject)
            .when(sfn.Condition.string_equals("$.endpoint.status", "Failed"), reject)
            .otherwise(revert_wait)
        )
        revert.next(revert_wait).next(self._describe(states.DESCRIBE_REVERT, sink)).next(reverted)

        deployed = succeeded(self, fn, "$.outcome.reason", states.DEPLOYED)
        confirm = step(states.CONFIRM_RUN, "confirm", "$.outcome").next(
            sfn.Choice(self, states.CONFIRMED)
            .when(
                sfn.Condition.boolean_equals("$.outcome.passed", True),
                sfn.Choice(self, states.CHANGED)
                .when(sfn.Condition.string_equals("$.plan.action", NONE), deployed)
                .otherwise(
                    notify(
                        self,
                        states.NOTIFY_DEPLOYED,
                        topic,
                        f"States.Format('{s.project_name}: {{}} ({{}}).', $.outcome.reason, $.plan.reason)",
                        deployed,
                    )
                ),
            )
            .otherwise(not_passed)
        )
        bake = sfn.Wait(self, states.BAKE, time=sfn.WaitTime.seconds_path("$.run.timing.bake_seconds"))
        check = invoke(
            self, states.CHECK_GUARD_ALARMS, self.deployer.function, {"step": "check_bake", "state": "$"}, "$.outcome"
        )
        not_checked = sfn.Pass(
            self,
            states.BAKE_NOT_CHECKED,
            parameters=state_parameters(
                {
                    "passed": False,
                    # Not the error's cause: it can be longer than the ApprovalDescription it becomes.
                    "reason": "States.Format('rolled back: the guard alarms could not be checked (the error is in "
                    "the history of execution {})', $$.Execution.Name)",
                }
            ),
            result_path="$.outcome",
        ).next(revert)
        check.add_catch(not_checked, errors=[sfn.Errors.ALL], result_path=ERROR)
        bake.next(check).next(
            sfn.Choice(self, states.BAKE_PASSED)
            .when(sfn.Condition.boolean_equals("$.outcome.passed", True), confirm)
            .otherwise(revert)
        )
        refused = sfn.Pass(
            self,
            states.UPDATE_REFUSED,
            parameters=state_parameters(
                {
                    "passed": False,
                    "reason": f"States.Format('rolled back: SageMaker kept endpoint {endpoint} on {{}} instead of "
                    "{} (see the endpoint FailureReason)', $.endpoint.config, $.plan.new_config)",
                }
            ),
            result_path="$.outcome",
        ).next(reject)
        endpoint_failed = error_from(
            self,
            states.ENDPOINT_FAILED,
            "EndpointFailed",
            f"States.Format('endpoint {endpoint} is Failed after the {{}} to {{}} (see its FailureReason); the next "
            "run deletes and creates it again', $.plan.action, $.plan.new_config)",
        ).next(sink)
        in_service = sfn.Condition.string_equals("$.endpoint.status", "InService")
        on_new_config = sfn.Condition.string_equals_json_path("$.endpoint.config", "$.plan.new_config")
        ready = (
            sfn.Choice(self, states.ENDPOINT_READY)
            .when(
                sfn.Condition.and_(in_service, on_new_config, sfn.Condition.string_equals("$.plan.action", UPDATE)),
                bake,
            )
            .when(sfn.Condition.and_(in_service, on_new_config), confirm)
            .when(in_service, refused)
            .when(sfn.Condition.string_equals("$.endpoint.status", "Failed"), endpoint_failed)
            .otherwise(wait)
        )
        wait.next(self._describe(states.DESCRIBE_ENDPOINT, sink)).next(ready)

        what = (
            sfn.Choice(self, states.WHAT_TO_DO)
            .when(sfn.Condition.string_equals("$.plan.action", CREATE), create)
            .when(sfn.Condition.string_equals("$.plan.action", UPDATE), update)
            .when(sfn.Condition.string_equals("$.plan.action", BUSY), busy)
            # `none`: the endpoint already serves the newest approved version with these settings.
            .otherwise(confirm)
        )
        return apply_settings.next(prepare).next(what)

    def _endpoint_request(self, state: str, action: str, busy: sfn.Wait) -> sfn.CustomState:
        """CreateEndpoint / UpdateEndpoint onto the plan's new config; a refusal re-plans after a wait."""
        parameters: dict[str, object] = {
            "EndpointName": self.settings.endpoint_name,
            "EndpointConfigName": "$.plan.new_config",
        }
        if action == "createEndpoint":
            parameters["Tags"] = tag_list(project_tags(self.settings))
        task = sagemaker_task(self, state, action, parameters)
        task.add_retry(
            errors=[sfn.Errors.TASKS_FAILED], interval=Duration.seconds(20), max_attempts=REQUEST_ATTEMPTS - 1
        )
        # Another run may be updating the endpoint: wait and plan again (prepare fails a repeated refusal).
        task.add_catch(busy, errors=[sfn.Errors.ALL], result_path="$.failed_request")
        return task

    def _describe(self, state: str, sink: sfn.IChainable) -> tasks.CallAwsService:
        """DescribeEndpoint, keeping its status and config name at `$.endpoint`."""
        task = tasks.CallAwsService(
            self,
            state,
            service="sagemaker",
            action="describeEndpoint",
            parameters={"EndpointName": self.settings.endpoint_name},
            iam_resources=[arn(self, "sagemaker", f"endpoint/{self.settings.endpoint_name}")],
            result_selector={
                "status": sfn.JsonPath.string_at("$.EndpointStatus"),
                "config": sfn.JsonPath.string_at("$.EndpointConfigName"),
            },
            result_path="$.endpoint",
        )
        task.add_catch(sink, errors=[sfn.Errors.ALL], result_path=ERROR)
        return task
