"""`test-endpoint` and `monitor`: the deployed system, with credentials from the environment.

Resource names default to what the stacks derive from the settings in `./cdk.json` (`--project`
overrides the project name). Exit statuses (mlops_cli/arguments.py): 0 all good, 1 a check failed
or an alarm is in ALARM, 2 the check could not run (no region, no credentials, bad arguments).
The region is `--region`, else AWS_REGION, else AWS_DEFAULT_REGION or the profile's, as the AWS
CLI picks it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_cli.arguments import EXIT_NO, EXIT_OK, fail, finite_number, whole_number

if TYPE_CHECKING:
    from mlops_core.settings import Settings

# InvokeEndpoint answers within 60 s, a cold start included
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).
INVOKE_READ_TIMEOUT_S = 70


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the verbs that talk to the deployed system."""
    test = subparsers.add_parser(
        "test-endpoint",
        help="send representative requests to the deployed endpoint and check the answers",
        description=(
            "Sends CSV and JSON requests (one row and a batch), repeated --requests times, plus one malformed "
            "request that must get a 4xx, through the boto3 sagemaker-runtime client; checks status codes, "
            "answer shapes and score ranges and reports latency p50/p95 per request kind. "
            "Exit 0 when every check passed, 1 when one failed, 2 when the check could not run."
        ),
    )
    _common(test)
    test.add_argument("--requests", type=whole_number(1), default=20, help="requests of each kind (default 20)")
    test.add_argument("--batch-rows", type=whole_number(1), default=100, help="rows in a batch request (default 100)")
    test.add_argument(
        "--data",
        type=Path,
        help="CSV with a header to take rows from (default: `data_path` if set, else the synthetic generator)",
    )
    test.set_defaults(run=run_test_endpoint)

    monitor = subparsers.add_parser(
        "monitor",
        help="health report of the deployed system (metrics, alarms, drift, registry)",
        description=(
            "Reads the endpoint's CloudWatch metrics (invocations, latency in ms, error rates, cold starts, "
            "memory), the project's alarm states, the latest drift report and the registry's newest approved "
            "version. Exit 0 when healthy, 1 when an alarm is in ALARM or something is wrong, 2 when the "
            "report could not be gathered."
        ),
    )
    _common(monitor)
    monitor.add_argument("--hours", type=finite_number, default=24.0, help="window to report on, in hours (default 24)")
    monitor.add_argument("--html", type=Path, help="also write an HTML report with plots to this path")
    monitor.set_defaults(run=run_monitor)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", type=endpoint_name, help="endpoint name (default: <project>-endpoint)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION or the profile's)")
    parser.add_argument("--project", help="project name (default: `project_name` in ./cdk.json)")
    parser.add_argument(
        "--endpoint-url", help="send every AWS call to this URL (a local endpoint or an emulator such as moto)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def endpoint_name(text: str) -> str:
    """An argparse type: a name SageMaker accepts for an endpoint (CreateEndpoint's EndpointName)."""
    from monitoring.capture import ENDPOINT_NAME_PATTERN

    if ENDPOINT_NAME_PATTERN.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"endpoint names are 1-63 letters, digits or hyphens, got {text!r}")
    return text


def cdk_context(cdk_json: Path) -> dict[str, Any]:
    """The `context` object of ./cdk.json (empty without the file)."""
    if not cdk_json.is_file():
        return {}
    try:
        document = json.loads(cdk_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"{cdk_json} is not valid JSON: {exc}") from None
    context = document.get("context", {}) if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise ValueError(f"{cdk_json}: `context` must be a JSON object")
    return context


def settings_from_cdk_json(cdk_json: Path, project: str | None = None) -> Settings:
    """The settings `cdk synth` would use here (cdk.json context), with `--project` over them."""
    from mlops_core.settings import Settings

    context = cdk_context(cdk_json)
    if project is not None:
        context = {**context, "project_name": project}
    return Settings.from_context(context)


def aws_region(explicit: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """`--region`, else AWS_REGION, else AWS_DEFAULT_REGION: the AWS CLI's order (None: boto3's profile)."""
    return explicit or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def aws_session(region: str | None) -> Any:
    """A boto3 session in the region the AWS CLI would use; ValueError when there is none."""
    import boto3

    session = boto3.Session(region_name=aws_region(region))
    if session.region_name is None:
        raise ValueError("no AWS region; pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    return session


def run_test_endpoint(args: argparse.Namespace) -> int:
    """Check the endpoint's answers; exit 0 on pass, 1 on a failed check, 2 when it cannot run."""
    from botocore.config import Config

    from dataset import DatasetError
    from mlops_cli.console import output_console
    from mlops_core.settings import SettingError
    from monitoring.tools.endpoint_check import (
        EndpointCheckError,
        check_endpoint,
        csv_probe_rows,
        render_check,
        synthetic_probe_rows,
    )

    try:
        settings = settings_from_cdk_json(Path.cwd() / "cdk.json", args.project)
        endpoint = args.endpoint or settings.endpoint_name
        data = args.data or (Path(settings.data_path) if settings.data_path else None)
        if data is not None:
            probe = csv_probe_rows(data, settings.label_column, args.batch_rows)
        else:
            probe = synthetic_probe_rows(args.batch_rows, seed=settings.data_seed + 1)
        client = aws_session(args.region).client(
            "sagemaker-runtime",
            endpoint_url=args.endpoint_url,
            config=Config(
                read_timeout=INVOKE_READ_TIMEOUT_S, connect_timeout=10, retries={"mode": "standard", "max_attempts": 3}
            ),
        )
        report = check_endpoint(client, endpoint, probe, args.requests, args.batch_rows)
    except (SettingError, DatasetError, EndpointCheckError, ValueError) as exc:
        return fail("test-endpoint", exc)

    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        render_check(report, output_console())
        malformed_share = 100.0 / max(1, report.requests)
        if malformed_share > settings.error_rate_threshold_percent:
            print(
                f"note: the one malformed request is {malformed_share:.1f} % of this run's requests, above the "
                f"4XX alarm's {settings.error_rate_threshold_percent:g} %; the alarm may fire for a period. "
                "Send more --requests to stay below it.",
                file=sys.stderr,
            )
    return EXIT_OK if report.passed else EXIT_NO


def run_monitor(args: argparse.Namespace) -> int:
    """Print the health report (and write the HTML page); exit 1 when something is wrong."""
    from botocore.config import Config

    from mlops_cli.console import output_console
    from mlops_core.settings import SettingError
    from monitoring.tools.health.report import gather_health
    from monitoring.tools.health.targets import HealthClients, HealthError, HealthTargets, HealthThresholds
    from monitoring.tools.health_report import render_health, write_health_html

    try:
        settings = settings_from_cdk_json(Path.cwd() / "cdk.json", args.project)
        clients = HealthClients.from_session(
            aws_session(args.region),
            endpoint_url=args.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        report = gather_health(
            clients,
            HealthTargets.from_settings(settings, args.endpoint),
            HealthThresholds.from_settings(settings),
            args.hours,
        )
    except (SettingError, HealthError, ValueError) as exc:
        return fail("monitor", exc)

    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        render_health(report, output_console())
    if args.html is not None:
        try:
            path = write_health_html(report, args.html)
        except OSError as exc:
            return fail("monitor", f"--html {args.html}: {exc.strerror or exc}")
        print(f"HTML report: {path}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK if report.healthy else EXIT_NO
