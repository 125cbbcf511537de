"""The `demo` verb: the whole local pipeline, ending with the report's path."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlops_cli.arguments import whole_number
from mlops_cli.signals import stop_on_sigterm


def register(subparsers: Any) -> None:
    """Add the verb to the `mlops` parser."""
    demo = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on this machine (synth, train, register, serve, drift, alarms, report)",
    )
    demo.add_argument(
        "--workdir",
        type=Path,
        default=Path("demo-output"),
        help="directory for every output; cleared first when an earlier demo made it (default demo-output)",
    )
    from mlops_core.settings import Settings

    demo.add_argument(
        "--rows",
        type=whole_number(1),  # the demo checks the `synthetic_rows` range itself
        default=None,
        help=f"training rows (default: the `synthetic_rows` setting, {Settings().synthetic_rows})",
    )
    demo.add_argument("--skip-synth", action="store_true", help="do not synthesize the stacks (step 1)")
    demo.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        type=context_pair,
        metavar="KEY=VALUE",
        help="a setting over cdk.json's, as `cdk synth -c` takes it (e.g. -c approval_mode=manual); repeatable",
    )
    demo.set_defaults(run=run_demo)


def context_pair(text: str) -> tuple[str, str]:
    """An argparse type: `KEY=VALUE`, as the CDK CLI's `-c` takes it."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; SIGTERM stops it as cleanly as Ctrl-C."""
    from local.demo import DemoOptions, run
    from mlops_cli.console import output_console

    stop_on_sigterm()
    options = DemoOptions(workdir=args.workdir, rows=args.rows, skip_synth=args.skip_synth, context=dict(args.context))
    return run(options, output_console(highlight=False))
