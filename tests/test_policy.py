"""Policy checks on the synthesized templates: cdk-nag, cfn-lint, IAM scope, determinism."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlops_stacks.nag_acknowledgments import ACCEPTED

from .conftest import ROOT, cli_synth
from .test_snapshots import normalized

STACK_SUFFIXES = ("storage", "registry", "endpoint", "observability")


def _statements(templates: dict[str, dict[str, Any]]):
    """(stack, logical id, resource type, statement) for every IAM statement outside key policies."""
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            documents = [props.get("PolicyDocument"), props.get("AssumeRolePolicyDocument")]
            documents += [p.get("PolicyDocument") for p in props.get("Policies", [])]
            for document in filter(None, documents):
                for statement in document["Statement"]:
                    yield stack, logical_id, resource["Type"], statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_make_synth_writes_the_four_stack_templates(cli_synthesized):
    _, templates = cli_synthesized
    assert sorted(name.rsplit("-", 1)[1] for name in templates) == sorted(STACK_SUFFIXES)


def test_cdk_nag_passes_with_every_acknowledgment_carrying_a_reason(cli_synthesized):
    outdir, _ = cli_synthesized
    # cdk-nag interrupts synthesis on an unacknowledged finding, so a finished synth means zero.
    report = outdir / "validation-report.json"
    assert not report.exists() or "failure" not in report.read_text()
    assert all(len(accepted.reason) > 60 for accepted in ACCEPTED)


def test_cdk_nag_also_passes_for_a_concrete_account_and_region_with_the_optional_stacks(concrete_synthesized):
    # `make deploy` with credentials synthesizes for the caller's account and Region; the
    # acknowledged findings must match there too (cdk-nag stops synth otherwise).
    assert sorted(name.rsplit("-", 1)[1] for name in concrete_synthesized.templates) == sorted(
        [*STACK_SUFFIXES, "oidc"]
    )


def test_cfn_lint_reports_nothing(cli_synthesized):
    outdir, _ = cli_synthesized
    templates = sorted(str(p) for p in outdir.glob("*.template.json"))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *templates],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_with_only_the_justified_skips(cli_synthesized):
    outdir, _ = cli_synthesized
    result = subprocess.run(
        ["bash", "scripts/checkov.sh", str(outdir)], capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_no_managed_policies_at_all(cli_synthesized):
    _, templates = cli_synthesized
    text = json.dumps(templates)
    assert "FullAccess" not in text
    assert "ManagedPolicyArns" not in text


def test_no_allow_statement_has_a_wildcard_action(cli_synthesized):
    _, templates = cli_synthesized
    offenders = [
        (stack, logical_id, action)
        for stack, logical_id, _, statement in _statements(templates)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement.get("Action", []))
        if "*" in action
    ]
    assert offenders == []


def test_wildcard_resources_are_exactly_the_acknowledged_ones(cli_synthesized, snapshot):
    _, templates = cli_synthesized
    found: dict[str, list[str]] = {}
    for stack, logical_id, _, statement in _statements(templates):
        if statement["Effect"] != "Allow":
            continue
        for resource in _as_list(statement.get("Resource", [])):
            text = json.dumps(resource, sort_keys=True)
            if "*" in text:
                found.setdefault(f"{stack}/{logical_id}", []).append(text)
    pinned = {key: sorted(set(values)) for key, values in sorted(found.items())}
    assert normalized(pinned) == snapshot


def test_two_synths_of_the_same_inputs_are_byte_identical(cli_synthesized, tmp_path):
    outdir, _ = cli_synthesized
    cli_synth(tmp_path)
    for first in sorted(outdir.glob("*.template.json")):
        assert (tmp_path / first.name).read_bytes() == first.read_bytes(), first.name
