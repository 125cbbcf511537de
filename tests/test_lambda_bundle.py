"""The Lambda bundle holds every module its handlers import (model_code.failure_reason included)."""

import os
import subprocess
import sys
import sysconfig

import pytest

from mlops_stacks.constructs.staging import lambda_bundle

HANDLERS = ("approved_package", "bucket_objects", "capture_writer", "drift_job", "training_run")


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_handler_imports_from_the_bundle_alone(handler):
    # -S: no .pth files, so the project's editable install cannot fill a gap; boto3 comes from
    # site-packages, as the Lambda runtime provides it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lambda_bundle()), sysconfig.get_paths()["purelib"]])}
    result = subprocess.run(
        [sys.executable, "-S", "-c", f"import mlops_stacks.handlers.{handler}"],
        cwd=lambda_bundle(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
