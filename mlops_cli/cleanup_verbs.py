"""The `mlops leftovers` verb: after `cdk destroy --all`, list whatever of the project still exists."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlops_cli.arguments import EXIT_NO, EXIT_OK, fail


def register(subparsers: Any) -> None:
    """Add the `leftovers` verb."""
    parser = subparsers.add_parser(
        "leftovers",
        help="list what of the project still exists in AWS (exit 1 if anything)",
        description=(
            "Lists every resource tagged project=<name> (Resource Groups Tagging API) plus what tags miss: "
            "log groups and training-job log streams, model package groups, SageMaker hosting resources, "
            "running training jobs, S3 buckets, Glue databases, Athena workgroups and SSM parameters named "
            "after the project. Exit 0 when nothing is left, 1 when something is, 2 when the check failed."
        ),
    )
    parser.add_argument(
        "--region", help="AWS region to check (default: AWS_REGION, else AWS_DEFAULT_REGION or the profile's)"
    )
    parser.add_argument(
        "--project",
        help="project name (default: `project_name` in ./cdk.json, else the settings default)",
    )
    parser.add_argument(
        "--keep-stack",
        action="append",
        default=[],
        metavar="STACK",
        help="a stack deployed on purpose (e.g. <project>-github-oidc); its resources are not leftovers",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(run=run_leftovers)


def run_leftovers(args: argparse.Namespace) -> int:
    """Scan the account; the exit code says clean (0), leftovers (1) or could not check (2)."""
    from mlops_cli.cloud_verbs import aws_session
    from mlops_core.settings import SettingError
    from monitoring.tools.leftovers import LeftoverScanError, find_leftovers, format_leftovers

    try:
        project = project_name(args.project, Path.cwd() / "cdk.json")
        session = aws_session(args.region)
    except (SettingError, ValueError) as exc:
        return fail("leftovers", exc)
    try:
        items = find_leftovers(session, project, args.keep_stack)
    except LeftoverScanError as exc:
        return fail("leftovers", f"could not check {project} in {session.region_name}: {exc}")

    if args.json:
        print(json.dumps([asdict(item) for item in items], indent=2))
    else:
        print(f"{project} in {session.region_name}: {len(items)} resource(s) left")
        print(format_leftovers(items))
    return EXIT_NO if items else EXIT_OK


def project_name(explicit: str | None, cdk_json: Path) -> str:
    """The project to look for: `--project`, else the one `cdk synth` would use here."""
    from mlops_cli.cloud_verbs import cdk_context
    from mlops_core.settings import Settings

    if explicit is not None:
        return Settings(project_name=explicit).project_name
    return Settings.from_context({"project_name": cdk_context(cdk_json).get("project_name")}).project_name
