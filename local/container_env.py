"""The container environment: the XGBoost 3.0-5 image's Python on this machine, and how we start processes in it.

`.venv-container` (built by scripts/container_env.sh from container/requirements.txt) holds the
image's Python 3.10 and packages. A process started here gets what the image's Dockerfiles and the
platform give it, relocated into a directory of its own:

- SAGEMAKER_BASE_DIR: `sagemaker_containers` derives every /opt/ml path (model, input, output,
  code) from it, so each job or endpoint has its own tree;
- PIP_TARGET and PYTHONPATH: the toolkit's `pip install .` of the sourcedir lands in that tree too,
  not in the shared environment's site-packages, so parallel runs (test workers, two demos) never
  install over each other; the glue in local/container/ comes first on the path;
- the `ENV` lines of the image's Dockerfiles, and none of this machine's SAGEMAKER_*, SM_*, PIP_* or
  PYTHON* variables;
- a lifeline: the read end of a pipe whose write end only the starting process holds, so the
  child notices when that process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTAINER_VENV = Path(os.environ.get("MLOPS_CONTAINER_VENV", REPO_ROOT / ".venv-container"))
GLUE_DIR = Path(__file__).resolve().parent / "container"
LIFELINE_ENV = "MLOPS_LIFELINE_FD"  # local/container/image_serving.py reads it
LOCAL_REGION = "us-east-1"  # the Region the local mode reports (jobs, endpoint, ARNs)
LOCAL_ACCOUNT = "000000000000"

# The ENV lines of the image's Dockerfiles (docker/3.0-5/base and final) that matter off /opt/ml.
IMAGE_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "SAGEMAKER_TRAINING_MODULE": "image_training:main",  # the image: sagemaker_xgboost_container.training:main
    "SAGEMAKER_SERVING_MODULE": "image_serving:main",  # the image: sagemaker_xgboost_container.serving:main
}
_NOT_INHERITED = ("SAGEMAKER_", "SM_", "MLOPS_", "PIP_", "PYTHON", "VIRTUAL_ENV", "CONDA_")


class ContainerEnvMissing(RuntimeError):
    """The container environment is not built (or not completely)."""


def container_bin(name: str) -> Path:
    """A program of the container environment (`python`, `train`, `gunicorn`), checked to exist."""
    if not (CONTAINER_VENV / ".installed").is_file():
        raise ContainerEnvMissing(
            f"the container environment {CONTAINER_VENV} is not built: run `make container-env` "
            "(it needs Python 3.10; `make` says how to get it)"
        )
    return CONTAINER_VENV / "bin" / name


def container_environment(base_dir: Path, extra: Mapping[str, str], lifeline_fd: int | None) -> dict[str, str]:
    """The environment of a process in the container: this machine's, less ours, plus the image's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_NOT_INHERITED)}
    site = base_dir / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    env.update(IMAGE_ENV)
    env["PATH"] = f"{CONTAINER_VENV / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    env["SAGEMAKER_BASE_DIR"] = str(base_dir)
    env["SM_MODEL_DIR"] = str(base_dir / "model")  # the final Dockerfile's ENV SM_MODEL_DIR /opt/ml/model
    env["PYTHONPATH"] = os.pathsep.join([str(GLUE_DIR), str(site)])
    env["PIP_TARGET"] = str(site)
    env["PIP_CONFIG_FILE"] = os.devnull  # the image has no pip configuration; this machine's may
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if lifeline_fd is not None:
        env[LIFELINE_ENV] = str(lifeline_fd)
    env.update(extra)
    return env


class Lifeline:
    """A pipe whose write end stays in this process: a child that reads the other end gets EOF when we die.

    Both ends are non-inheritable; pass `read_fd` to a child with `pass_fds`. Close the lifeline
    once the children are stopped.
    """

    def __init__(self) -> None:
        self.read_fd, self._write_fd = os.pipe()

    def close(self) -> None:
        """Close both ends (a child still reading sees EOF)."""
        for fd in (self.read_fd, self._write_fd):
            if fd >= 0:
                os.close(fd)
        self.read_fd = self._write_fd = -1


def end_group_and_remove(group: int, directory: Path, grace_s: float) -> None:
    """Let process group `group` end by itself for up to `grace_s`, kill what is left, then remove `directory`.

    For a process outside the group (the front end reaps the model container this way when the
    endpoint's process died and cannot): nothing in the group can write into `directory` afterwards.
    """
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    time.sleep(0.2)  # a killed process may still finish the system call it was in
    shutil.rmtree(directory, ignore_errors=True)
