"""The local training runner: the XGBoost 3.0-5 image's own trainer in the container environment."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from local.training import JobTree, TrainingFailed, build_tree, encode_hyperparameters, run_training
from tests.model_fixtures import FAST_HYPERPARAMETERS, small_dataset

# A stand-in train.py that records what the toolkit handed it, as the job's model.
RECORDING_SCRIPT = """
import json, os, sys
model_dir = os.environ["SM_MODEL_DIR"]
seen = {
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("SM_") or k == "TRAINING_JOB_NAME"},
    "module": __file__,
    "tag": open(os.path.join(os.path.dirname(__file__), "tag.txt")).read(),
    "train_channel": sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"])),
}
with open(os.path.join(model_dir, "evaluation.json"), "w") as handle:
    json.dump(seen, handle)
"""


def code_dir_with(tmp_path: Path, train_py: str, tag: str = "") -> Path:
    """A submit directory whose train.py is the given script."""
    code = tmp_path / "code"
    code.mkdir(parents=True)
    (code / "train.py").write_text(train_py)
    (code / "tag.txt").write_text(tag)
    return code


def test_the_toolkit_hands_train_py_the_hyperparameters_and_environment_sagemaker_does(tmp_path: Path) -> None:
    code = code_dir_with(tmp_path, RECORDING_SCRIPT)
    hyperparameters = {"eta": "0.2", "num_round": 50, "tag": "a b"}
    result = run_training(small_dataset(), tmp_path / "out", hyperparameters, job_name="job-1", submit_dir=code)
    seen = result.evaluation
    # JSON-encoded by us as the SDK writes them, decoded by the toolkit, passed in sorted order.
    assert seen["argv"] == ["--eta", "0.2", "--num_round", "50", "--tag", "a b"]
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {"eta": "0.2", "num_round": 50, "tag": "a b"}
    assert env["SM_CHANNEL_TRAIN"].endswith("/input/data/train")
    assert seen["train_channel"] == ["schema.json", "train.csv"]
    assert env["SM_MODEL_DIR"].endswith("/model") and env["SM_OUTPUT_DATA_DIR"].endswith("/output/data")
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CURRENT_HOST"] == "algo-1" and env["SM_MODULE_NAME"] == "train"
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["TRAINING_JOB_NAME"] == "job-1"
    # The script runs from the job's own code directory, not from this repository.
    assert seen["module"].endswith("/code/train.py") and not seen["module"].startswith(str(code))


def test_the_job_tree_holds_the_config_files_and_channels(tmp_path: Path) -> None:
    encoded = encode_hyperparameters({"eta": "0.2"}, "job-1", "/code/sourcedir.tar.gz")
    assert encoded["eta"] == '"0.2"' and encoded["sagemaker_program"] == '"train.py"'
    tree = build_tree(tmp_path / "ml", small_dataset(), encoded)
    assert isinstance(tree, JobTree)
    assert sorted(p.name for p in tree.channel("train").iterdir()) == ["schema.json", "train.csv"]
    assert [p.name for p in tree.channel("validation").iterdir()] == ["validation.csv"]
    assert json.loads((tree.config_dir / "hyperparameters.json").read_text()) == encoded
    resources = json.loads((tree.config_dir / "resourceconfig.json").read_text())
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]


def test_parallel_jobs_each_install_and_run_their_own_sourcedir(tmp_path: Path) -> None:
    results: dict[str, dict] = {}

    def train(tag: str) -> None:
        code = code_dir_with(tmp_path / tag, RECORDING_SCRIPT, tag)
        results[tag] = run_training(small_dataset(), tmp_path / tag / "out", submit_dir=code).evaluation

    threads = [threading.Thread(target=train, args=(tag,)) for tag in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {tag: seen["tag"] for tag, seen in results.items()} == {"first": "first", "second": "second"}


def test_a_failed_job_reports_train_pys_marked_reason_not_the_trainers_failure_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_dataset(), data)
    lines = (data / "validation.csv").read_text().splitlines()
    lines[2] = "xxx"
    (data / "validation.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TrainingFailed) as raised:
        run_training(data, tmp_path / "out", FAST_HYPERPARAMETERS)
    assert raised.value.reason == "validation.csv line 3: 1 fields, the header has 16"
    # What the image's trainer leaves as the job's FailureReason: not the reason.
    assert raised.value.failure_file.startswith('ExecuteUserScriptError:\nCommand "')
    assert raised.value.exit_code == 1
    assert not (tmp_path / "out" / "model.tar.gz").exists()


def test_a_job_killed_by_a_signal_reports_what_the_trainer_saw(tmp_path: Path) -> None:
    # What a segfault or the OOM killer looks like from outside: the script dies of a signal.
    script = "import os, signal\nprint('loading', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n"
    code = code_dir_with(tmp_path, script)
    with pytest.raises(TrainingFailed) as raised:
        run_training(small_dataset(), tmp_path / "out", submit_dir=code, timeout_s=120)
    assert raised.value.reason.startswith('ExecuteUserScriptError: Command "')
    assert raised.value.reason.endswith('-m train"')
    assert "ran longer" not in raised.value.reason


def test_a_job_over_its_time_limit_is_killed_with_its_script_and_reported_as_such(tmp_path: Path) -> None:
    script = "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(120)\n"
    code = code_dir_with(tmp_path, script)
    started = time.monotonic()
    seen: list[str] = []
    with pytest.raises(TrainingFailed) as raised:
        run_training(small_dataset(), tmp_path / "out", submit_dir=code, timeout_s=15, echo=seen.append)
    assert time.monotonic() - started < 60
    assert raised.value.reason == "training job stopped: it ran longer than its limit of 15 s"
    (pid,) = [int(line.split()[1]) for line in seen if line.startswith("pid ")]
    assert not script_runs(pid)


def script_runs(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return Path(f"/proc/{pid}").exists()


def test_the_job_dies_with_the_runner_when_its_output_handler_fails(tmp_path: Path) -> None:
    script = "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(120)\n"
    code = code_dir_with(tmp_path, script)
    pids: list[int] = []

    def echo(line: str) -> None:
        if line.startswith("pid "):
            pids.append(int(line.split()[1]))
            raise RuntimeError("terminal gone")

    with pytest.raises(RuntimeError, match="terminal gone"):
        run_training(small_dataset(), tmp_path / "out", submit_dir=code, echo=echo)
    assert not script_runs(pids[0])  # the script too, not only the trainer
