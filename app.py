#!/usr/bin/env python3
"""The CDK app: settings -> stacks -> policy checks. Run through `make synth` / `cdk synth`."""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment

from mlops_core.settings import SettingError
from mlops_stacks.app_builder import build_app


def main() -> None:
    """Synthesize every stack, or exit with the bad setting's name and what is allowed."""
    app = App()
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    # Environment-agnostic unless the caller's credentials or settings pin one.
    env = Environment(account=account, region=region) if account and region else None
    try:
        build_app(app, env)
    except SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()


if __name__ == "__main__":
    main()
