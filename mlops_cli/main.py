"""Entry point of the `mlops` console script (the verbs are listed in the README).

Each verb module exposes `register(subparsers)`, adding its verbs with `set_defaults(run=...)`,
where `run(args) -> int` is the exit status (mlops_cli/arguments.py has the contract). Verb
modules import their heavy dependencies inside `run`, so `mlops --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mlops_cli.arguments import OneLineArgumentParser

VERB_MODULES = (
    "mlops_cli.model_verbs",  # data, train, serve
    "mlops_cli.monitoring_verbs",  # drift
    "mlops_cli.cloud_verbs",  # test-endpoint, monitor
    "mlops_cli.cleanup_verbs",  # leftovers
    "mlops_cli.registry_verbs",  # approve, reject
    "mlops_cli.demo_verb",  # demo
)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every verb registered."""
    parser = OneLineArgumentParser(
        prog="mlops",
        description="Serverless MLOps pipeline on AWS, and its local mode.",
        epilog="Exit status of every verb: 0 all is well, 1 the answer is no (see the verb's help), "
        "2 bad usage or input (one line on stderr).",
    )
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the chosen verb."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
