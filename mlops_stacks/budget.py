"""An optional AWS Budgets alarm on the project's cost tag, notifying the alert topic.

AWS Budgets sees a tag only after it is activated as a cost allocation tag (Billing console, or
`aws ce update-cost-allocation-tags-status`), and only for costs incurred from then on; see
docs/cost.md.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_core.settings import SettingError, Settings

COST_TAG = "project"
BUDGETS_PRINCIPAL = "budgets.amazonaws.com"
# (notification type, percent of the limit): early warning, limit reached, heading past it.
THRESHOLDS: tuple[tuple[str, float], ...] = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))


def cost_filter(settings: Settings) -> budgets.CfnBudget.ExpressionProperty:
    """The budget's filter: costs of resources tagged `project=<project_name>`.

    A FilterExpression (the Cost Explorer expression), not the deprecated CostFilters ("CostFilters
    lack support for newer dimensions and filtering options. Please consider using the new
    'FilterExpression' field.", AWS SDK Budget.costFilters).
    """
    return budgets.CfnBudget.ExpressionProperty(
        tags=budgets.CfnBudget.TagValuesProperty(key=COST_TAG, values=[settings.project_name], match_options=["EQUALS"])
    )


class ProjectBudget(Construct):
    """A monthly cost budget on the project's tag; crossing a threshold publishes to `topic`."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        if settings.monthly_budget_usd is None:
            raise SettingError("setting `monthly_budget_usd` must be set for a ProjectBudget, got None")

        principal = iam.ServicePrincipal(BUDGETS_PRINCIPAL)
        same_account = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": f"arn:{Stack.of(self).partition}:budgets::{Aws.ACCOUNT_ID}:*"},
        }
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublish",
                principals=[principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=same_account,
            )
        )
        # An encrypted topic needs Budgets to be able to use its key as well.
        key = topic.master_key if isinstance(topic, sns.Topic) else None
        if key is not None:
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="BudgetsUseKey",
                    principals=[principal],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions=same_account,
                )
            )

        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=settings.name("monthly-cost"),
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.monthly_budget_usd, unit="USD"),
                filter_expression=cost_filter(settings),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)
                    ],
                )
                for kind, percent in THRESHOLDS
            ],
        )
