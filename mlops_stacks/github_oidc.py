"""The optional GitHub OIDC stack: the roles that the workflows in `.github/workflows/` assume.

Least privilege by construction: the deploy role can only assume the CDK bootstrap roles (the
CDK CLI does everything through them) and call the one endpoint it smoke-tests; the diff role can
only assume the bootstrap *lookup* role, which is what `cdk diff --method=template` reads the
deployed templates with. Read-only checks after a deploy (`mlops monitor`, `mlops leftovers`, the
stack outputs) chain from the deploy role into the lookup role, so they need nothing here.
See docs/github-setup.md for why these choices and how to set up an account.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, DefaultStackSynthesizer, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops_core.settings import SettingError, Settings

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
DEPLOY_BRANCH = "main"

# CDK's own templates of the bootstrap role ARNs (`${Qualifier}` is the bootstrap qualifier).
BOOTSTRAP_ROLE_ARN_TEMPLATES: dict[str, str] = {
    "deploy": DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
    "file-publishing": DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
    "image-publishing": DefaultStackSynthesizer.DEFAULT_IMAGE_ASSET_PUBLISHING_ROLE_ARN,
    "lookup": DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN,
}
# `cdk diff --method=template` reads the deployed templates through the lookup role only; the
# change-set method would need the deploy role, which can create and execute change sets.
DIFF_BOOTSTRAP_ROLES = ("lookup",)
# What `mlops test-endpoint` and `aws sagemaker wait endpoint-in-service` call with the deploy role.
ENDPOINT_SMOKE_TEST_ACTIONS = ("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint")


def subject_patterns(repository: str, claim: str) -> list[str]:
    """Both `sub` forms GitHub issues for `claim` in `repository` (`owner/repo`).

    The legacy form is `repo:owner/repo:<claim>`; repositories created or renamed since
    2026-07-15 use the immutable form `repo:owner@<OWNER_ID>/repo@<REPO_ID>:<claim>`. Owner and
    repository names cannot contain `@`, `/` or `:`, so the `*`s can only match the two IDs.
    """
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name:
        raise SettingError(f"setting `github_repository` must be owner/repo, got {repository!r}")
    return [f"repo:{owner}/{name}:{claim}", f"repo:{owner}@*/{name}@*:{claim}"]


def bootstrap_role_arn(kind: str, qualifier: str) -> str:
    """The ARN of one CDK bootstrap role in this stack's account and region (an `Fn::Sub` token)."""
    return Fn.sub(BOOTSTRAP_ROLE_ARN_TEMPLATES[kind].replace("${Qualifier}", qualifier))


def endpoint_arn(stack: Stack, settings: Settings) -> str:
    """The project's endpoint ARN; the endpoint stack names it `<project>-endpoint`."""
    return f"arn:{stack.partition}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:endpoint/{settings.endpoint_name}"


class GithubOidcStack(Stack):
    """The GitHub OIDC provider (or the account's existing one) and the deploy and diff roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        qualifier: str = DefaultStackSynthesizer.DEFAULT_QUALIFIER,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if settings.github_repository is None:
            raise SettingError("setting `github_repository` must be owner/repo for the GitHub OIDC stack, got None")
        repository = settings.github_repository

        if settings.github_oidc_provider_arn is not None:
            # An account holds one provider per issuer URL: reuse it instead of failing on a duplicate.
            provider_arn = settings.github_oidc_provider_arn
        else:
            provider = iam.OidcProviderNative(
                self,
                "GithubProvider",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_ids=[STS_AUDIENCE],
            )
            provider_arn = provider.oidc_provider_arn

        self.deploy_role = iam.Role(
            self,
            "DeployRole",
            role_name=settings.name("github-deploy"),
            description=f"GitHub Actions on {repository}@{DEPLOY_BRANCH}: assumes the CDK bootstrap roles to deploy",
            assumed_by=_github_principal(provider_arn, subject_patterns(repository, f"ref:refs/heads/{DEPLOY_BRANCH}")),
            # Training (up to 50 min) plus the endpoint can outlast the default hour; the CDK CLI
            # re-assumes the bootstrap roles from these credentials while it waits.
            max_session_duration=Duration.hours(2),
            inline_policies={
                "AssumeCdkBootstrapRoles": _assume_roles_policy(tuple(BOOTSTRAP_ROLE_ARN_TEMPLATES), qualifier),
                "SmokeTestEndpoint": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="SmokeTestEndpoint",
                            actions=list(ENDPOINT_SMOKE_TEST_ACTIONS),
                            resources=[endpoint_arn(self, settings)],
                        )
                    ]
                ),
            },
        )
        self.diff_role = iam.Role(
            self,
            "DiffRole",
            role_name=settings.name("github-diff"),
            description=f"GitHub Actions on pull requests of {repository}: reads deployed templates for cdk diff",
            assumed_by=_github_principal(provider_arn, subject_patterns(repository, "pull_request")),
            max_session_duration=Duration.hours(1),
            inline_policies={"AssumeCdkLookupRole": _assume_roles_policy(DIFF_BOOTSTRAP_ROLES, qualifier)},
        )

        CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role_arn, description="vars.AWS_DEPLOY_ROLE_ARN")
        CfnOutput(self, "DiffRoleArn", value=self.diff_role.role_arn, description="vars.AWS_DIFF_ROLE_ARN")
        CfnOutput(self, "OidcProviderArn", value=provider_arn)


def _github_principal(provider_arn: str, subjects: list[str]) -> iam.WebIdentityPrincipal:
    # StringLike because the immutable `sub` form needs wildcards; the aud check stays exact.
    return iam.WebIdentityPrincipal(
        provider_arn,
        conditions={
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE},
            "StringLike": {f"{GITHUB_OIDC_HOST}:sub": subjects},
        },
    )


def _assume_roles_policy(kinds: tuple[str, ...], qualifier: str) -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[bootstrap_role_arn(kind, qualifier) for kind in kinds],
            )
        ]
    )
