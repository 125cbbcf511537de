"""Run model_code/train.py on this machine the way a SageMaker training job runs it.

The job gets a SageMaker-shaped tree (`input/config/*.json`, `input/data/<channel>/`, `model/`,
`output/data/`, `output/failure`, `code/`), the SM_* environment that the training toolkit sets,
and its hyperparameters encoded as the SDK writes them (JSON strings) and decoded as the
container decodes them (json.loads, falling back to the raw string; `sagemaker_*` keys removed;
`--name value` arguments in sorted order). SageMaker's artifact packing follows: every file of
`model/` at the root of `model.tar.gz`. A failed job raises `TrainingFailed` with the failure
file's text, which SageMaker would report as the job's FailureReason.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.model_server import LOCAL_REGION
from model_code.metric_definitions import METRIC_DEFINITIONS

MODEL_CODE_DIR = Path(__file__).resolve().parent.parent / "model_code"
ENTRY_POINT = "train.py"
CURRENT_HOST = "algo-1"
FRAMEWORK_MODULE = "sagemaker_xgboost_container.training:main"
SOURCE_SUFFIXES = (".py", ".txt")  # what goes into the job's code dir (the sourcedir's files)


class TrainingFailed(RuntimeError):
    """The training job failed; `reason` is what SageMaker would report as FailureReason."""

    def __init__(self, reason: str, exit_code: int, log_tail: str) -> None:
        super().__init__(f"training job failed (exit code {exit_code}): {reason}")
        self.reason = reason
        self.exit_code = exit_code
        self.log_tail = log_tail


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
    """The /opt/ml tree of one job, rooted in a local directory."""

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

    @property
    def code_dir(self) -> Path:
        """code/: the extracted sourcedir, the job's working directory."""
        return self.root / "code"


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


def decode_hyperparameters(encoded: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user, framework) hyperparameters as the container reads them: JSON if it parses, else the raw text."""
    user: dict[str, Any] = {}
    framework: dict[str, Any] = {}
    for key, raw in encoded.items():
        try:
            value = json.loads(raw)
        except (ValueError, TypeError):
            value = raw
        (framework if key.startswith("sagemaker_") else user)[key] = value
    return user, framework


def to_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """`--name value` pairs in sorted order; mappings become `k=v,k2=v2`, everything else `str()`."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def _env_value(value: Any) -> str:
    """How the toolkit renders an SM_* value: strings as is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def training_environment(
    tree: JobTree, user_hps: Mapping[str, Any], framework_hps: Mapping[str, Any], job_name: str
) -> dict[str, str]:
    """The SM_* variables the training toolkit exports to the user script (FACTS.md §4)."""
    input_data_config = json.loads((tree.config_dir / "inputdataconfig.json").read_text())
    resource_config = json.loads((tree.config_dir / "resourceconfig.json").read_text())
    channels = sorted(input_data_config)
    values: dict[str, Any] = {
        "hosts": resource_config["hosts"],
        "network_interface_name": resource_config["network_interface_name"],
        "hps": dict(user_hps),
        "user_entry_point": ENTRY_POINT,
        "framework_params": {},
        "resource_config": resource_config,
        "input_data_config": input_data_config,
        "output_data_dir": str(tree.output_dir / "data"),
        "channels": channels,
        "current_host": CURRENT_HOST,
        "module_name": ENTRY_POINT.removesuffix(".py"),
        "log_level": framework_hps.get("sagemaker_container_log_level", 20),
        "framework_module": FRAMEWORK_MODULE,
        "input_dir": str(tree.root / "input"),
        "input_config_dir": str(tree.config_dir),
        "output_dir": str(tree.output_dir),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "model_dir": str(tree.model_dir),
        "module_dir": str(framework_hps.get("sagemaker_submit_directory", "")),
        "user_args": to_cmd_args(user_hps),
        "output_intermediate_dir": str(tree.output_dir / "intermediate"),
    }
    values["training_env"] = {**values, "job_name": job_name, "hyperparameters": dict(user_hps)}
    for channel in channels:
        values[f"channel_{channel}"] = str(tree.channel(channel))
    for key, value in user_hps.items():
        values[f"hp_{key}"] = value
    env = {f"SM_{key.upper()}": _env_value(value) for key, value in values.items()}
    env["TRAINING_JOB_NAME"] = job_name
    env["SAGEMAKER_REGION"] = str(framework_hps.get("sagemaker_region", LOCAL_REGION))
    return env


def build_tree(root: Path, data_dir: Path, code_dir: Path, encoded_hps: Mapping[str, str]) -> JobTree:
    """Lay out the job's directories and config files, with the data split into its channels."""
    tree = JobTree(root)
    for directory in (tree.config_dir, tree.model_dir, tree.output_dir / "data", tree.output_dir / "intermediate"):
        directory.mkdir(parents=True, exist_ok=True)
    channel_files = {"train": ("train.csv", "schema.json"), "validation": ("validation.csv",)}
    for channel, names in channel_files.items():
        tree.channel(channel).mkdir(parents=True, exist_ok=True)
        for name in names:
            if (data_dir / name).is_file():
                shutil.copyfile(data_dir / name, tree.channel(channel) / name)
    tree.code_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(code_dir.iterdir()):
        if source.is_file() and source.suffix in SOURCE_SUFFIXES:
            shutil.copyfile(source, tree.code_dir / source.name)
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
    code_dir: str | Path = MODEL_CODE_DIR,
    echo: Callable[[str], None] | None = None,
    timeout_s: float = 1800.0,
) -> TrainingResult:
    """Train on `data_dir` (train.csv, validation.csv, schema.json) and write `out_dir/model.tar.gz`."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} does not exist; create it with `mlops data --out DIR`")
    job_name = job_name or time.strftime("local-training-%Y%m%d-%H%M%S", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="sagemaker-local-") as scratch:
        tree = JobTree(Path(scratch) / "opt" / "ml")
        encoded = encode_hyperparameters(dict(hyperparameters or {}), job_name, f"file://{Path(code_dir).resolve()}")
        build_tree(tree.root, data_dir, Path(code_dir), encoded)
        # Read hyperparameters back from the file, as the container does.
        user_hps, framework_hps = decode_hyperparameters(
            json.loads((tree.config_dir / "hyperparameters.json").read_text())
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_", "PYTHONPATH"))}
        env.update(training_environment(tree, user_hps, framework_hps, job_name))
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [sys.executable, ENTRY_POINT, *to_cmd_args(user_hps)]
        exit_code, log = _run(command, tree.code_dir, env, echo, timeout_s)
        if exit_code != 0:
            failure = tree.output_dir / "failure"
            if not failure.is_file():
                # What the toolkit writes when the script dies without leaving a reason.
                last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
                failure.write_text(f"AlgorithmError: ExecuteUserScriptError: exit code {exit_code}: {last}\n")
            raise TrainingFailed(failure.read_text().strip(), exit_code, "\n".join(log.splitlines()[-20:]))
        evaluation = json.loads((tree.model_dir / "evaluation.json").read_text())
        model_tar = pack_model(tree.model_dir, Path(out_dir) / "model.tar.gz")
    return TrainingResult(job_name, model_tar, evaluation, parse_metrics(log), log)


def _run(
    command: list[str], cwd: Path, env: dict[str, str], echo: Callable[[str], None] | None, timeout_s: float
) -> tuple[int, str]:
    """Run the job process, streaming its combined output; kill it after `timeout_s`.

    The process never outlives the call: if `echo` raises or Ctrl-C arrives, it is killed too.
    """
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        process.kill()

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
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if exit_code < 0:
        # Only our timer's kill is a timeout; any other signal (segfault, the OOM killer) is the job's own death.
        lines.append(
            f"training process killed after {timeout_s:g} s\n"
            if timed_out.is_set()
            else f"training process killed by {_signal_name(-exit_code)}\n"
        )
    return exit_code, "".join(lines)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
