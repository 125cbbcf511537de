"""The XGBoost 3.0-5 image's training module, for the local mode (runs in .venv-container, Python 3.10).

The image's `train` command is `sagemaker_containers`' own trainer (`sagemaker_containers.cli.train`,
installed here from PyPI): it reads the job's config files under SAGEMAKER_BASE_DIR, imports
SAGEMAKER_TRAINING_MODULE and calls it, and writes `output/failure` when it raises. In the image
that module is `sagemaker_xgboost_container.training:main`, which is not on PyPI; `main` and `train`
below mirror it for script mode: the toolkit's `run_module` downloads the sourcedir, writes a
`setup.py` for it, `pip install .`, then runs `python -m <entry point> --name value ...`.
Algorithm mode (no sagemaker_program hyperparameter) is not mirrored.
"""

from __future__ import annotations

import sys
from typing import Any

import sagemaker_containers.beta.framework as framework


def train(training_environment: Any) -> None:
    """Mirrors training.train for a user entry point (script mode)."""
    if training_environment.user_entry_point is None:
        raise framework.errors.ClientError(
            "no sagemaker_program hyperparameter: algorithm mode is not part of the local mode"
        )
    framework.modules.run_module(
        training_environment.module_dir,
        training_environment.to_cmd_args(),
        training_environment.to_env_vars(),
        training_environment.module_name,
        capture_error=False,
    )


def main() -> None:
    """Mirrors training.main."""
    train(framework.training_env())
    sys.exit(0)
