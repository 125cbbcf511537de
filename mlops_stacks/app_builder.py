"""Builds the whole app: settings -> stacks in deploy order -> tags and policy checks."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from dataset import DatasetError
from mlops_core.sagemaker_inputs import project_tags
from mlops_core.settings import SettingError, Settings, setting_names
from mlops_stacks.endpoint import EndpointStack
from mlops_stacks.github_oidc import GithubOidcStack
from mlops_stacks.nag_acknowledgments import acknowledge_findings
from mlops_stacks.observability import ObservabilityStack
from mlops_stacks.registry import RegistryStack
from mlops_stacks.storage import StorageStack


@dataclass
class PipelineStacks:
    """The stacks of one app, in deploy order."""

    storage: StorageStack
    registry: RegistryStack
    endpoint: EndpointStack
    observability: ObservabilityStack
    github_oidc: Stack | None = None

    def all(self) -> list[Stack]:
        """Every stack that exists in this app."""
        stacks = [self.storage, self.registry, self.endpoint, self.observability]
        return [*stacks, self.github_oidc] if self.github_oidc else stacks


def settings_from_app(app: App) -> Settings:
    """The settings in `cdk.json` context and `-c key=value`."""
    return Settings.from_context({name: app.node.try_get_context(name) for name in setting_names()})


def build_stacks(app: App, settings: Settings, env: Environment | None = None) -> PipelineStacks:
    """Create and wire the stacks; stable names cross stacks as exports, per-run values never do."""
    prefix = settings.project_name
    storage = StorageStack(app, f"{prefix}-storage", settings=settings, env=env)
    registry = RegistryStack(
        app,
        f"{prefix}-registry",
        settings=settings,
        execution_role=storage.execution_role,
        train_uri=storage.train_uri,
        validation_uri=storage.validation_uri,
        data_hash=storage.data_hash,
        sourcedir_uri=storage.sourcedir_uri,
        code_hash=storage.code_hash,
        topic=storage.topic,
        topic_key=storage.topic_key,
        env=env,
    )
    # The data and the code must be in S3 before the training job reads them.
    registry.run.node.add_dependency(storage.data_deployment, storage.code_deployment)
    endpoint = EndpointStack(
        app,
        f"{prefix}-endpoint",
        settings=settings,
        execution_role=storage.execution_role,
        training_run_id=registry.training_run_id,
        topic=storage.topic,
        topic_key=storage.topic_key,
        env=env,
    )
    # Nothing of the endpoint may be created before an approved version exists.
    endpoint.add_stack_dependency(registry, "serves the version the registry approves")
    observability = ObservabilityStack(
        app,
        f"{prefix}-observability",
        settings=settings,
        endpoint_name=endpoint.endpoint_name,
        feature_names=storage.feature_names,
        capture_database=endpoint.capture_database,
        capture_table=endpoint.capture_table,
        capture_writer=endpoint.capture_writer.function,
        capture_failures=endpoint.capture_failures,
        topic=storage.topic,
        env=env,
    )
    observability.add_stack_dependency(endpoint, "watches the endpoint")
    stacks = PipelineStacks(storage, registry, endpoint, observability)
    if settings.github_repository:
        stacks.github_oidc = GithubOidcStack(app, f"{prefix}-github-oidc", settings=settings, env=env)

    for stack in stacks.all():
        for key, value in project_tags(settings).items():
            Tags.of(stack).add(key, value)  # every taggable resource in the template
            # The stack's own tags, which CloudFormation also puts on what the template cannot tag;
            # `@aws-cdk/core:explicitStackTags` no longer derives them from Tags.of(stack).
            stack.tags.set_tag(key, value)
    return stacks


def build_app(app: App, env: Environment | None = None, *, nag: bool = True) -> PipelineStacks:
    """The complete app with cdk-nag's AwsSolutions checks; a violation stops synth.

    The training data is read while the storage stack is built; a file that is missing or
    refused is reported like a bad setting (`SettingError` naming `data_path`), in one line.
    """
    settings = settings_from_app(app)
    try:
        stacks = build_stacks(app, settings, env)
    except DatasetError as exc:
        if settings.data_path is None:
            raise
        raise SettingError(f"setting `data_path`: {exc}") from None
    acknowledge_findings(stacks.all(), settings)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
