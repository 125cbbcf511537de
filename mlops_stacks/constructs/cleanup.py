"""A custom resource that owns nothing until a destroy, when its Lambda removes what a pipeline made.

CloudFormation deletes only what its templates hold; the pipelines create training jobs, model
versions, models, endpoint configs and the endpoint at run time. Each clean-up's handler answers
Create and Update with a fixed physical ID and does its work on Delete, within one invocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops_core.settings import Settings
from mlops_stacks.constructs.python_function import PythonFunction

# The Lambda's own limit; the handlers stop waiting in time to answer CloudFormation.
CLEANUP_TIMEOUT = Duration.minutes(15)


class Cleanup(Construct):
    """`resource_type` backed by `handler`, whose role holds exactly `statements`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        function_name: str,
        handler: str,
        description: str,
        resource_type: str,
        statements: Sequence[iam.PolicyStatement],
        properties: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Function",
            function_name=function_name,
            handler=handler,
            description=description,
            log_retention_days=settings.log_retention_days,
            timeout=CLEANUP_TIMEOUT,
            environment=environment,
        )
        for statement in statements:
            self.function.role.add_to_policy(statement)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function.function_arn,
            resource_type=resource_type,
            service_timeout=CLEANUP_TIMEOUT.plus(Duration.minutes(1)),
            properties=dict(properties or {}),
        )
