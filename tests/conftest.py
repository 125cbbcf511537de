"""Shared fixtures: the app is synthesized once per test session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# aws-cdk-lib's built-in template validator costs ~5 s a synth; `make synth` keeps it on.
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def cdk_json_context() -> dict[str, Any]:
    """The default settings exactly as `cdk synth` reads them."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


@dataclass
class Synthesized:
    """One synthesized app: its stacks and their templates."""

    stacks: Any
    templates: dict[str, dict[str, Any]]
    outdir: Path

    def template(self, suffix: str) -> dict[str, Any]:
        """The template of the stack whose name ends with `-suffix`."""
        (name,) = [n for n in self.templates if n.endswith(f"-{suffix}")]
        return self.templates[name]


def synthesize(
    outdir: Path, extra_context: dict[str, Any] | None = None, *, nag: bool = True, env: Any = None
) -> Synthesized:
    """Build and synthesize the app in-process, with cdk-nag unless told otherwise."""
    from aws_cdk import App

    from mlops_stacks.app_builder import build_app

    app = App(outdir=str(outdir), context={**cdk_json_context(), **(extra_context or {})})
    stacks = build_app(app, env, nag=nag)
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return Synthesized(stacks, templates, outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """The default app, synthesized once, with cdk-nag's AwsSolutions checks."""
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))


def cli_synth(outdir: Path, *context: str) -> dict[str, dict[str, Any]]:
    """Synthesize with the pinned CDK CLI, as `make synth` does (validation and cdk-nag on)."""
    import subprocess

    args = ["node_modules/.bin/cdk", "synth", "--quiet", "-o", str(outdir)]
    for item in context:
        args += ["-c", item]
    env = {**os.environ, "CDK_VALIDATION": "true", "CDK_DISABLE_VERSION_CHECK": "true"}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"cdk synth failed:\n{result.stdout}\n{result.stderr}")
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")}


@pytest.fixture(scope="session")
def cli_synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The default app synthesized once by the real CDK CLI: the templates `make deploy` would send."""
    outdir = tmp_path_factory.mktemp("cli-cdk.out")
    return outdir, cli_synth(outdir)


# What `make deploy` synthesizes with credentials: a concrete account and Region, every optional stack on.
CONCRETE_ACCOUNT, CONCRETE_REGION = "123456789012", "eu-west-1"
CONCRETE_CONTEXT = {"github_repository": "example-org/mlops-showcase", "monthly_budget_usd": 50}


@pytest.fixture(scope="session")
def concrete_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app for a concrete account and Region, with the optional stacks, synthesized once (cdk-nag on)."""
    from aws_cdk import Environment

    env = Environment(account=CONCRETE_ACCOUNT, region=CONCRETE_REGION)
    return synthesize(tmp_path_factory.mktemp("concrete-cdk.out"), CONCRETE_CONTEXT, env=env)


SHARED_ENDPOINT = "churn-local"


@dataclass
class SharedEndpoint:
    """The session's local endpoint: the small model served by the container-true stack, capture on."""

    endpoint: Any
    capture_dir: Path
    log: list[str]

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def port(self) -> int:
        return self.endpoint.port


@pytest.fixture(scope="session")
def shared_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedEndpoint]:
    """One endpoint per test process: a start costs seconds (sourcedir install, imports, model_fn)."""
    from local.serving import LocalEndpoint
    from tests.model_fixtures import trained_model

    capture_dir = tmp_path_factory.mktemp("shared-capture")
    log: list[str] = []
    with LocalEndpoint(
        trained_model().model_tar, capture_dir=capture_dir, endpoint_name=SHARED_ENDPOINT, log=log.append
    ) as endpoint:
        yield SharedEndpoint(endpoint, capture_dir, log)
