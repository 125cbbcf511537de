"""Entry point of the `mlops` console script (DESIGN §10).

Each verb module exposes `register(subparsers)`, adding its verbs with `set_defaults(run=...)`,
where `run(args) -> int` is the exit code. Verb modules import their heavy dependencies inside
`run`, so `mlops --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

VERB_MODULES = (
    "mlops_cli.model_verbs",  # data, train, serve
    "mlops_cli.monitoring_verbs",  # drift
    "mlops_cli.cloud_verbs",  # test-endpoint, monitor
    "mlops_cli.cleanup_verbs",  # leftovers
    "mlops_cli.demo_verb",  # demo
)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every verb registered."""
    parser = argparse.ArgumentParser(prog="mlops", description="Serverless MLOps pipeline on AWS, and its local mode.")
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
