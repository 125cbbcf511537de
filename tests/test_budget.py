"""The optional budget: filters on the project's cost tag and can really publish to the alert topic."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from mlops_core.settings import SettingError, Settings
from mlops_stacks.budget import ProjectBudget


def build(settings: Settings) -> tuple[App, dict[str, Any]]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Observability")
    topic = sns.Topic(
        stack, "Alerts", master_key=kms.Key(stack, "AlertKey", enable_key_rotation=True), enforce_ssl=True
    )
    ProjectBudget(stack, "Budget", settings, topic)
    return app, Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def built() -> tuple[App, dict[str, Any]]:
    return build(Settings(project_name="churn-prod", monthly_budget_usd=50))


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_the_budget_counts_only_costs_tagged_with_the_project(built):
    (budget,) = resources(built[1], "AWS::Budgets::Budget")
    data = budget["Budget"]
    assert data["FilterExpression"] == {
        "Tags": {"Key": "project", "Values": ["churn-prod"], "MatchOptions": ["EQUALS"]}
    }
    assert "CostFilters" not in data  # deprecated
    assert data["BudgetLimit"] == {"Amount": 50, "Unit": "USD"}
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")


def test_it_warns_at_80_percent_and_at_the_limit_actual_or_forecast(built):
    (budget,) = resources(built[1], "AWS::Budgets::Budget")
    notifications = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    }
    assert notifications == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}
    (topic_id,) = [name for name, r in built[1]["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
    for n in budget["NotificationsWithSubscribers"]:
        assert n["Subscribers"] == [{"Address": {"Ref": topic_id}, "SubscriptionType": "SNS"}]


def test_budgets_may_publish_to_the_topic_and_use_its_key_from_this_account_only(built):
    template = built[1]
    (topic_policy,) = resources(template, "AWS::SNS::TopicPolicy")
    (key,) = resources(template, "AWS::KMS::Key")
    for statements, sid in (
        (topic_policy["PolicyDocument"]["Statement"], "BudgetsPublish"),
        (key["KeyPolicy"]["Statement"], "BudgetsUseKey"),
    ):
        (statement,) = [s for s in statements if s.get("Sid") == sid]
        assert statement["Principal"] == {"Service": "budgets.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_cdk_nag_finds_nothing_to_say_about_the_budget(built):
    app = built[0]
    report = AwsSolutionsChecks(app).validate_scope(app)
    assert [v.rule_name for v in report.violations] == []


def test_a_budget_needs_its_limit_setting():
    with pytest.raises(SettingError, match="monthly_budget_usd"):
        build(Settings())
