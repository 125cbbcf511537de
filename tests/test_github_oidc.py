"""The GitHub OIDC stack: who may assume its roles, and that they can do nothing but reach CDK's roles."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from mlops_core.settings import SettingError, Settings
from mlops_stacks.github_oidc import GithubOidcStack, subject_patterns

REPOSITORY = "octo-org/churn-mlops"
SUB_KEY = "token.actions.githubusercontent.com:sub"
AUD_KEY = "token.actions.githubusercontent.com:aud"
BOOTSTRAP_ROLE = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-%s-%s-role-${AWS::AccountId}-${AWS::Region}"
ENDPOINT_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":sagemaker:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":endpoint/mlops-showcase-endpoint",
        ],
    ]
}


def build(settings: Settings, **kwargs: Any) -> tuple[App, GithubOidcStack]:
    app = App(builtin_cloud_formation_validation=False)
    return app, GithubOidcStack(app, f"{settings.project_name}-github-oidc", settings=settings, **kwargs)


@pytest.fixture(scope="module")
def built() -> tuple[App, GithubOidcStack]:
    return build(Settings(github_repository=REPOSITORY))


@pytest.fixture(scope="module")
def template(built: tuple[App, GithubOidcStack]) -> dict[str, Any]:
    return Template.from_stack(built[1]).to_json()


def role(template: dict[str, Any], logical_prefix: str) -> dict[str, Any]:
    (props,) = [
        r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and name.startswith(logical_prefix)
    ]
    return props


def allowed(role_props: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (action, resource) pair the role's own policies allow."""
    pairs = []
    for policy in role_props.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no NotAction/NotResource/Condition"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            pairs += [(a, json.dumps(r, sort_keys=True)) for a in actions for r in resources]
    return sorted(pairs)


def bootstrap(kind: str, qualifier: str = "hnb659fds") -> str:
    return json.dumps({"Fn::Sub": BOOTSTRAP_ROLE % (qualifier, kind)})


def string_like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` is any run of characters, `?` one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def trust_admits(role_props: dict[str, Any], sub: str, aud: str = "sts.amazonaws.com") -> bool:
    (statement,) = role_props["AssumeRolePolicyDocument"]["Statement"]
    condition = statement["Condition"]
    assert set(condition) == {"StringEquals", "StringLike"}
    aud_ok = condition["StringEquals"][AUD_KEY] == aud
    return aud_ok and any(string_like(p, sub) for p in condition["StringLike"][SUB_KEY])


def test_the_deploy_role_may_only_assume_the_four_cdk_bootstrap_roles_and_smoke_test_the_endpoint(template):
    deploy = role(template, "DeployRole")

    assert allowed(deploy) == sorted(
        [("sts:AssumeRole", bootstrap(kind)) for kind in ("deploy", "file-publishing", "image-publishing", "lookup")]
        + [
            ("sagemaker:DescribeEndpoint", json.dumps(ENDPOINT_ARN, sort_keys=True)),
            ("sagemaker:InvokeEndpoint", json.dumps(ENDPOINT_ARN, sort_keys=True)),
        ]
    )


def test_the_diff_role_may_only_assume_the_cdk_lookup_role(template):
    assert allowed(role(template, "DiffRole")) == [("sts:AssumeRole", bootstrap("lookup"))]


def test_no_other_policy_reaches_the_roles(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {"AWS::IAM::OIDCProvider", "AWS::IAM::Role"}
    for name in ("DeployRole", "DiffRole"):
        assert "ManagedPolicyArns" not in role(template, name)
        assert "PermissionsBoundary" not in role(template, name)


def test_both_roles_are_assumed_only_through_githubs_oidc_provider(template):
    provider_ids = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::OIDCProvider"]
    assert template["Resources"][provider_ids[0]]["Properties"] == {
        "ClientIdList": ["sts.amazonaws.com"],
        "Url": "https://token.actions.githubusercontent.com",
    }
    for name in ("DeployRole", "DiffRole"):
        (statement,) = role(template, name)["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": {"Ref": provider_ids[0]}}


@pytest.mark.parametrize(
    ("sub", "admitted"),
    [
        ("repo:octo-org/churn-mlops:ref:refs/heads/main", True),
        ("repo:octo-org@1234567/churn-mlops@89012345:ref:refs/heads/main", True),  # immutable form
        ("repo:octo-org/churn-mlops:ref:refs/heads/feature", False),
        ("repo:octo-org/churn-mlops:ref:refs/heads/main-hotfix", False),
        ("repo:octo-org/churn-mlops:ref:refs/tags/main", False),
        ("repo:octo-org/churn-mlops:pull_request", False),
        ("repo:octo-org/churn-mlops:environment:production", False),
        ("repo:octo-org/churn-mlops-fork:ref:refs/heads/main", False),
        ("repo:octo-org@1234567/churn-mlops-fork@1:ref:refs/heads/main", False),
        ("repo:evil-org/churn-mlops:ref:refs/heads/main", False),
        ("repo:evil-org@666/churn-mlops@1:ref:refs/heads/main", False),
    ],
)
def test_the_deploy_role_trusts_only_the_main_branch_of_the_named_repository(template, sub, admitted):
    assert trust_admits(role(template, "DeployRole"), sub) is admitted


@pytest.mark.parametrize(
    ("sub", "admitted"),
    [
        ("repo:octo-org/churn-mlops:pull_request", True),
        ("repo:octo-org@1234567/churn-mlops@89012345:pull_request", True),
        ("repo:octo-org/churn-mlops:ref:refs/heads/main", False),
        ("repo:other-org/churn-mlops:pull_request", False),
        ("repo:octo-org/other-repo:pull_request", False),
    ],
)
def test_the_diff_role_trusts_only_pull_requests_of_the_named_repository(template, sub, admitted):
    assert trust_admits(role(template, "DiffRole"), sub) is admitted


def test_a_token_for_another_audience_is_refused(template):
    deploy = role(template, "DeployRole")
    assert not trust_admits(deploy, "repo:octo-org/churn-mlops:ref:refs/heads/main", aud="https://github.com/octo-org")


def test_deploy_sessions_outlast_a_training_run_and_diff_sessions_stay_short(template):
    assert role(template, "DeployRole")["MaxSessionDuration"] == 7200
    assert role(template, "DiffRole")["MaxSessionDuration"] == 3600


def test_an_existing_oidc_provider_is_reused_instead_of_created():
    arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    _, stack = build(Settings(github_repository=REPOSITORY, github_oidc_provider_arn=arn))
    tpl = Template.from_stack(stack).to_json()

    assert not [r for r in tpl["Resources"].values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    (statement,) = role(tpl, "DeployRole")["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": arn}


def test_a_custom_bootstrap_qualifier_names_that_bootstraps_roles():
    _, stack = build(Settings(github_repository=REPOSITORY), qualifier="team42")
    deploy = role(Template.from_stack(stack).to_json(), "DeployRole")
    assert ("sts:AssumeRole", bootstrap("deploy", "team42")) in allowed(deploy)


def test_the_template_holds_no_account_id(template):
    assert not re.search(r"\b\d{12}\b", json.dumps(template))


def test_the_stack_needs_a_repository_and_a_well_formed_one():
    with pytest.raises(SettingError, match="github_repository"):
        build(Settings())
    with pytest.raises(SettingError, match="github_repository"):
        subject_patterns("no-slash", "pull_request")


def test_cdk_nag_aws_solutions_finds_nothing_in_the_stack(built):
    app, _ = built
    report = AwsSolutionsChecks(app).validate_scope(app)
    findings = [(v.rule_name, [r.resource_logical_id for r in v.violating_resources]) for v in report.violations]
    assert findings == []
    assert report.success


def test_cdk_nag_would_flag_a_wildcard_policy_so_the_clean_result_means_something():
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Control")
    iam.Role(
        stack,
        "Wide",
        assumed_by=iam.AccountRootPrincipal(),
        inline_policies={
            "Wide": iam.PolicyDocument(statements=[iam.PolicyStatement(actions=["sts:*"], resources=["*"])])
        },
    )
    report = AwsSolutionsChecks(app).validate_scope(app)
    assert "AwsSolutions-IAM5" in {v.rule_name.split("[")[0] for v in report.violations}
