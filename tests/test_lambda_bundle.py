"""The Lambda bundle holds every module its handlers import, and nothing the Lambda runtime lacks.

The bundle is the import closure of `mlops_stacks/handlers/` (mlops_core.import_graph), not a list.
These tests take each Python function's Handler from the synthesized templates and import it from
the very asset directory CDK staged, in a fresh interpreter that sees only that directory and the
packages the Lambda runtime brings (boto3 and botocore).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mlops_core.import_graph import import_closure, package_modules
from mlops_core.staging import lambda_bundle
from mlops_stacks.constructs.python_function import HANDLERS_PACKAGE

from .conftest import Synthesized

# -S: no .pth files, so the project's editable install cannot fill a gap; boto3 comes from
# site-packages, as the Lambda runtime provides it. What the runtime does not have is refused.
_IMPORT_HANDLER = """
import importlib, importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"numpy", "duckdb", "rich", "scipy", "matplotlib", "aws_cdk", "jsii", "constructs"}:
            raise ImportError(f"{name} is not in the Lambda runtime")
sys.meta_path.insert(0, Absent())
module = importlib.import_module(sys.argv[1])
assert module.__file__.startswith(sys.path[0]), module.__file__
if len(sys.argv) > 2:
    assert callable(getattr(module, sys.argv[2])), sys.argv[2]
"""


def _import_from(bundle: Path, module: str, function: str | None = None) -> subprocess.CompletedProcess[str]:
    """Import `module` (and look `function` up in it) with only the bundle and the runtime's packages on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(bundle), sysconfig.get_paths()["purelib"]])}
    return subprocess.run(
        [sys.executable, "-S", "-c", _IMPORT_HANDLER, module, *([function] if function else [])],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _python_functions(synthesized: Synthesized) -> list[tuple[str, str]]:
    """(handler, asset directory) of every Python Lambda function in the app."""
    found = []
    for template in synthesized.templates.values():
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and str(properties.get("Runtime")).startswith("python"):
                asset = synthesized.outdir / f"asset.{properties['Code']['S3Key'].removesuffix('.zip')}"
                found.append((properties["Handler"], str(asset)))
    return sorted(found)


def test_every_python_function_imports_its_handler_from_its_staged_asset_alone(synthesized: Synthesized) -> None:
    functions = _python_functions(synthesized)
    handlers = {handler for handler, _ in functions}
    # Every Lambda of ours: the pipelines' steps and starters, the clean-ups, the bucket objects, capture, drift.
    assert len(handlers) == 10, handlers
    assert all(handler.startswith(f"{HANDLERS_PACKAGE}.") for handler in handlers)
    for handler, asset in functions:
        module, _, function = handler.rpartition(".")
        result = _import_from(Path(asset), module, function)
        assert result.returncode == 0, f"{handler}: {result.stderr[-2000:]}"


@pytest.mark.parametrize("module", package_modules(HANDLERS_PACKAGE))
def test_each_handler_module_imports_from_the_bundle_alone(module: str) -> None:
    result = _import_from(lambda_bundle(HANDLERS_PACKAGE), module)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_bundle_is_the_import_closure_of_the_handlers_and_python_only() -> None:
    bundle = lambda_bundle(HANDLERS_PACKAGE)
    files = sorted(path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file())
    expected = sorted(
        module.replace(".", "/") + ("/__init__.py" if (bundle / module.replace(".", "/")).is_dir() else ".py")
        for module in import_closure(package_modules(HANDLERS_PACKAGE))
    )
    assert files == expected
    # The closure reaches the lower layers the handlers stand on, and nothing above them.
    tops = {name.partition("/")[0] for name in files}
    assert tops <= {"mlops_stacks", "mlops_core", "monitoring", "model_code"}
    assert not any(name.startswith(("mlops_stacks/constructs", "monitoring/tools")) for name in files)
