"""Run model_code/train.py on this machine the way a SageMaker training job in the XGBoost 3.0-5 image runs it.

The job gets a SageMaker-shaped tree (`input/config/*.json`, `input/data/<channel>/`, `model/`,
`output/`), relocated with SAGEMAKER_BASE_DIR, and its hyperparameters encoded as the SageMaker
SDK writes them (every value JSON). Then the image's own `train` command runs in the container
environment (`local.container_env`): `sagemaker_containers`' trainer, with the glue mirroring the
image's training module (local/container/image_training.py). The toolkit decodes the
hyperparameters and sets the SM_* environment itself, extracts the sourcedir (the same
sourcedir.tar.gz the storage stack uploads), writes a `setup.py` for it, `pip install .`, and runs
`python -m train --name value ...`. SageMaker's artifact packing follows: every file of `model/`
at the root of `model.tar.gz`.

A failed job raises `TrainingFailed`. The trainer overwrites `output/failure` with its own
`ExecuteUserScriptError: Command "..."`, so the reason reported is the one train.py marks in its
log (model_code/failure_reason.py), as the cloud's TrainingRun handler finds it in the job's log
stream, and the failure file's text only when no line is marked.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.container_env import LOCAL_REGION, container_bin, container_environment
from model_code.failure_reason import find_reason, one_line
from model_code.metric_definitions import METRIC_DEFINITIONS

ENTRY_POINT = "train.py"
CURRENT_HOST = "algo-1"


class TrainingFailed(RuntimeError):
    """The training job failed: `reason` is ours (the marked line), `failure_file` what the trainer wrote."""

    def __init__(self, reason: str, exit_code: int, log_tail: str, failure_file: str = "") -> None:
        super().__init__(f"training job failed: {reason}")
        self.reason = reason
        self.exit_code = exit_code
        self.log_tail = log_tail
        self.failure_file = failure_file


@dataclass(frozen=True)
class TrainingResult:
    """A finished local job: the artifact, its evaluation and the metrics parsed from the log."""

    job_name: str
    model_tar: Path
    evaluation: dict[str, Any]
    metrics: dict[str, float]
    log: str


@dataclass(frozen=True)
class JobTree:
    """The /opt/ml tree of one job, rooted in a local directory (its SAGEMAKER_BASE_DIR)."""

    root: Path

    @property
    def config_dir(self) -> Path:
        """input/config: hyperparameters.json, inputdataconfig.json, resourceconfig.json."""
        return self.root / "input" / "config"

    def channel(self, name: str) -> Path:
        """input/data/<channel>."""
        return self.root / "input" / "data" / name

    @property
    def model_dir(self) -> Path:
        """model/: what the job leaves here becomes model.tar.gz."""
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        """output/: holds `failure` when the job fails."""
        return self.root / "output"


def encode_hyperparameters(user: Mapping[str, Any], job_name: str, submit_dir: str) -> dict[str, str]:
    """hyperparameters.json as the SageMaker SDK writes it: every value JSON-encoded, plus `sagemaker_*`."""
    framework = {
        "sagemaker_program": ENTRY_POINT,
        "sagemaker_submit_directory": submit_dir,
        "sagemaker_container_log_level": 20,
        "sagemaker_job_name": job_name,
        "sagemaker_region": LOCAL_REGION,
    }
    return {key: json.dumps(value) for key, value in {**user, **framework}.items()}


def build_tree(root: Path, data_dir: Path, encoded_hps: Mapping[str, str]) -> JobTree:
    """Lay out the job's directories and config files, with the data split into its channels."""
    tree = JobTree(root)
    for directory in (tree.config_dir, tree.model_dir, tree.output_dir / "data"):
        directory.mkdir(parents=True, exist_ok=True)
    channel_files = {"train": ("train.csv", "schema.json"), "validation": ("validation.csv",)}
    for channel, names in channel_files.items():
        tree.channel(channel).mkdir(parents=True, exist_ok=True)
        for name in names:
            if (data_dir / name).is_file():
                shutil.copyfile(data_dir / name, tree.channel(channel) / name)
    channel_config = {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    resource_config = {
        "current_host": CURRENT_HOST,
        "current_instance_type": "local",
        "current_group_name": "homogeneousCluster",
        "hosts": [CURRENT_HOST],
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": "local", "hosts": [CURRENT_HOST]}
        ],
        "network_interface_name": "eth0",
    }
    _write_json(tree.config_dir / "hyperparameters.json", dict(encoded_hps))
    _write_json(tree.config_dir / "inputdataconfig.json", {name: channel_config for name in channel_files})
    _write_json(tree.config_dir / "resourceconfig.json", resource_config)
    return tree


def pack_model(model_dir: Path, target: Path) -> Path:
    """model.tar.gz with the model directory's files at the archive root, as SageMaker uploads it.

    Entries are sorted and carry no timestamps or owners, so the same model gives the same bytes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(model_dir).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:
        compressed.write(buffer.getvalue())
    return target


def parse_metrics(log: str) -> dict[str, float]:
    """Apply the job's MetricDefinitions to its log, as SageMaker does; the last match wins."""
    metrics = {}
    for definition in METRIC_DEFINITIONS:
        matches = re.findall(definition["Regex"], log)
        if matches:
            metrics[definition["Name"]] = float(matches[-1])
    return metrics


def run_training(
    data_dir: str | Path,
    out_dir: str | Path,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    job_name: str | None = None,
    submit_dir: str | Path | None = None,
    echo: Callable[[str], None] | None = None,
    timeout_s: float = 1800.0,
) -> TrainingResult:
    """Train on `data_dir` (train.csv, validation.csv, schema.json) and write `out_dir/model.tar.gz`.

    `submit_dir` is the sourcedir (a directory or a sourcedir.tar.gz; default: model_code/ as the
    storage stack packs it).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} does not exist; create it with `mlops data --out DIR`")
    if submit_dir is None:
        from local.serving import project_sourcedir

        submit_dir = project_sourcedir()
    train = container_bin("train")
    job_name = job_name or time.strftime("local-training-%Y%m%d-%H%M%S", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="sagemaker-local-") as scratch:
        tree = build_tree(
            Path(scratch) / "ml",
            data_dir,
            encode_hyperparameters(dict(hyperparameters or {}), job_name, str(Path(submit_dir).resolve())),
        )
        env = container_environment(tree.root, {"TRAINING_JOB_NAME": job_name}, lifeline_fd=None)
        exit_code, log, timed_out = _run([str(train)], Path(scratch), env, echo, timeout_s)
        if exit_code != 0:
            failure = tree.output_dir / "failure"
            failure_text = failure.read_text(errors="replace").strip() if failure.is_file() else ""
            lines = log.splitlines()
            if timed_out:
                reason = f"training job stopped: it ran longer than its limit of {timeout_s:g} s"
            else:
                reason = find_reason(lines) or one_line(failure_text) or _last_line(lines)
            raise TrainingFailed(reason, exit_code, "\n".join(lines[-20:]), failure_text)
        evaluation = json.loads((tree.model_dir / "evaluation.json").read_text())
        model_tar = pack_model(tree.model_dir, Path(out_dir) / "model.tar.gz")
    return TrainingResult(job_name, model_tar, evaluation, parse_metrics(log), log)


def _last_line(lines: list[str]) -> str:
    return next((line.strip() for line in reversed(lines) if line.strip()), "the job left no output")


def _run(
    command: list[str], cwd: Path, env: dict[str, str], echo: Callable[[str], None] | None, timeout_s: float
) -> tuple[int, str, bool]:
    """Run the trainer, streaming its combined output; kill it and its script after `timeout_s`.

    The trainer starts the script as its own child, so both run in a process group of their own,
    and the whole group is killed on a timeout, when `echo` raises, or on Ctrl-C.
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )
    timed_out = threading.Event()

    def kill_group() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def expire() -> None:
        timed_out.set()
        kill_group()

    timer = threading.Timer(timeout_s, expire)
    timer.start()
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
        exit_code = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            kill_group()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if exit_code < 0 and not timed_out.is_set():
        lines.append(f"trainer killed by {_signal_name(-exit_code)}\n")
    return exit_code, "".join(lines), timed_out.is_set()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
