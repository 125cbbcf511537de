"""What every `mlops` verb promises: one-line usage errors, the AWS CLI's region order, full-width output."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_cli.cloud_verbs import aws_region
from mlops_cli.console import UNBOUNDED_WIDTH, output_console
from mlops_cli.main import main


def run(argv: list[str]) -> int:
    """Run the console script's entry point, usage errors included."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-verb"],
        ["data"],
        ["data", "--out", "x", "--rows", "1_000"],
        ["train", "--local", "--data"],
        ["drift", "--baseline", "b.json"],
        ["drift", "--baseline", "b.json", "--capture", "c", "--window-hours", "inf"],
        ["drift", "--baseline", "b.json", "--capture", "c", "--fail-on", "sometimes"],
        ["test-endpoint", "--requests", "x"],
        ["test-endpoint", "--endpoint", "my_endpoint"],
        ["monitor", "--hours", "nan"],
        ["leftovers", "--bogus"],
        ["demo", "--rows", "\u0661\u0660\u0660\u0660"],
        ["demo", "-c", "approval_mode"],
        ["approve", "1.5"],
        ["reject", "--reason", "no version given"],
    ],
)
def test_a_usage_error_is_one_line_on_stderr_and_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # were an argument taken, nothing lands in the checkout
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("mlops")
    assert ": error: " in captured.err and "usage:" not in captured.err


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("eu-west-1", {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1"),
        (None, {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, "us-east-1"),
        (None, {"AWS_REGION": "us-east-1"}, "us-east-1"),
        (None, {"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        (None, {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        (None, {}, None),
    ],
)
def test_the_region_is_picked_in_the_aws_clis_order(explicit: str | None, env: dict, expected: str | None) -> None:
    assert aws_region(explicit, env) == expected


@pytest.fixture
def only_aws_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AWS_REGION set, AWS_DEFAULT_REGION and every profile region absent; dummy credentials."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.chdir(tmp_path)


def test_leftovers_honours_aws_region(only_aws_region: None, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert boto3.Session().region_name is None  # boto3 alone would not find it
        assert run(["leftovers", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("verb", [["test-endpoint", "--requests", "1"], ["monitor"]])
def test_the_endpoint_verbs_honour_aws_region(
    only_aws_region: None, verb: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 9: the verb gets as far as calling AWS, in the region AWS_REGION names.
    code = run([*verb, "--endpoint-url", "http://127.0.0.1:9"])
    captured = capsys.readouterr()
    assert code in (1, 2) and "no AWS region" not in captured.err
    assert "Could not connect" in captured.out + captured.err


def test_output_that_is_not_a_terminal_is_not_cut_to_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    console = output_console()
    assert not console.is_terminal and console.width == UNBOUNDED_WIDTH
    monkeypatch.setenv("COLUMNS", "120")
    assert output_console().width == 120  # the user's own choice stands
