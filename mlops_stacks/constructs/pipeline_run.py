"""PipelineRun: a deploy starts one run of a pipeline and waits, up to 12 hours, for the run's signal.

A custom resource waits at most an hour; a CloudFormation wait condition waits up to 12
(AWS::CloudFormation::WaitCondition Timeout). The `Custom::PipelineRun` resource starts the
execution with the handle's pre-signed URL in its input (`handlers/pipeline_run.py`); the
pipeline's last state signals SUCCESS, or FAILURE with the reason, which fails the deploy at once
(a run that its state machine's own timeout ends sends nothing: the condition then times out).
A wait condition cannot be updated and its handle must not be reused, so the handle and the
condition carry the run id in their logical IDs: a new run gets a new pair, and CloudFormation
deletes the old pair once the deploy succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_cloudformation as cfn
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops_core.settings import Settings
from mlops_stacks.constructs.pipeline_state_machine import PipelineStateMachine, arn
from mlops_stacks.constructs.python_function import PythonFunction
from mlops_stacks.handlers.pipeline_run import RESOURCE_TYPE


class PipelineRun(Construct):
    """Start `pipeline` once for `run_id` (with `run_input`) and make the deploy wait for its signal."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        function_name: str,
        pipeline: PipelineStateMachine,
        run_id: str,
        run_input: Mapping[str, Any],
        timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.run_id = run_id
        starter = PythonFunction(
            self,
            "Starter",
            function_name=function_name,
            handler="mlops_stacks.handlers.pipeline_run.handler",
            description=f"Starts the {pipeline.name} run of a deploy (once per run id) and stops it on delete",
            log_retention_days=settings.log_retention_days,
        )
        starter.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[pipeline.state_machine.state_machine_arn])
        )
        starter.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[arn(self, "states", f"execution:{pipeline.name}:*")],
            )
        )
        handle = cfn.CfnWaitConditionHandle(self, f"Handle{run_id}")
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=starter.function.function_arn,
            resource_type=RESOURCE_TYPE,
            service_timeout=Duration.minutes(2),
            properties={
                "StateMachineArn": pipeline.state_machine.state_machine_arn,
                "RunId": run_id,
                "WaitHandle": handle.ref,
                "Input": Stack.of(self).to_json_string(dict(run_input)),
            },
        )
        self.condition = cfn.CfnWaitCondition(
            self, f"Done{run_id}", handle=handle.ref, timeout=str(int(timeout.to_seconds())), count=1
        )
        self.condition.node.add_dependency(self.resource)
