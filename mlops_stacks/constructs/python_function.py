"""A Python Lambda function with its own log group and a role that holds only what it is granted."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_core.staging import lambda_bundle

# The newest Python runtime aws-cdk-lib knows (cdk-nag L1 checks for it).
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Every handler lives in this package; the bundle is what importing its modules runs.
HANDLERS_PACKAGE = "mlops_stacks.handlers"

_RETENTION_NAMES = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def retention(days: int) -> logs.RetentionDays:
    """The CDK enum member for a CloudWatch Logs retention in days (validated by the settings)."""
    return logs.RetentionDays[_RETENTION_NAMES[days]]


class PythonFunction(Construct):
    """One of our handlers from the shared Lambda bundle.

    The log group is created here with retention and removal, so destroy leaves no log group, and
    the role gets inline log permissions instead of the AWS-managed basic execution policy. The
    function is named, and its log group has Lambda's default name `/aws/lambda/<function name>`:
    that is where a reader of a failed run looks for its log.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        handler: str,
        description: str,
        log_retention_days: int,
        timeout: Duration | None = None,
        memory_size: int = 256,
        environment: Mapping[str, str] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {construct_id} Lambda",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(lambda_bundle(HANDLERS_PACKAGE))),
            handler=handler,
            description=description,
            role=self.role,
            log_group=self.log_group,
            timeout=timeout or Duration.minutes(1),
            memory_size=memory_size,
            environment=dict(environment or {}),
            dead_letter_queue=dead_letter_queue,
        )
        ignore_redundant_depends_on(self.function)


def ignore_redundant_depends_on(construct: Construct) -> None:
    """Tell cfn-lint that this resource's DependsOn on its role is deliberate (check W3005 only).

    CDK makes a resource depend on its whole role construct, so that the role's inline policy
    exists before first use; the Role half of that DependsOn repeats the GetAtt.
    """
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
