"""The `mlops data`, `mlops train` and `mlops serve` verbs, driven through their own parser."""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from local.runtime_front import DEFAULT_ENDPOINT_NAME
from mlops_cli import model_verbs
from mlops_stacks.settings import Settings
from tests.model_fixtures import small_dataset


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlops")
    model_verbs.register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_mlops_data_writes_the_data_set_and_names_the_drifted_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["data", "--out", str(tmp_path), "--rows", "500", "--seed", "3", "--drift"]) == 0
    out = capsys.readouterr().out
    assert "(400 rows)" in out and "(100 rows)" in out
    assert "drifted features: tenure_months, monthly_charges" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema.json", "train.csv", "validation.csv"]


def test_mlops_data_refuses_too_few_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "--out", str(tmp_path), "--rows", "10"]) == 2
    assert "rows must be at least 100" in capsys.readouterr().err


def test_mlops_train_local_writes_model_tar_and_prints_the_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hp = ["--hp", "num_round=40", "--hp", "eta=0.3"]
    assert run(["train", "--local", "--data", str(small_dataset()), "--out", str(tmp_path), *hp]) == 0
    out = capsys.readouterr().out
    assert "validation:auc = 0." in out and f"wrote {tmp_path / 'model.tar.gz'}" in out
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        evaluation = json.load(archive.extractfile("evaluation.json"))
    assert evaluation["hyperparameters"]["num_round"] == 40 and evaluation["hyperparameters"]["eta"] == 0.3
    assert evaluation["hyperparameters"]["max_depth"] == 4  # the settings' default


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ([], 2, "only --local is supported"),
        (["--local", "--hp", "eta"], 2, "--hp expects KEY=VALUE, got 'eta'"),
        (["--local", "--hp", "eta=5"], 1, "eta must be in (0, 1]"),
    ],
)
def test_mlops_train_reports_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, message: str
) -> None:
    assert run(["train", "--data", str(small_dataset()), "--out", str(tmp_path), *extra]) == code
    assert message in capsys.readouterr().err


def test_mlops_train_fails_on_bad_data_with_the_jobs_failure_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_dataset(), data)
    (data / "schema.json").unlink()
    assert run(["train", "--local", "--data", str(data), "--out", str(tmp_path / "out")]) == 1
    assert "schema.json not found in the train channel" in capsys.readouterr().err


def test_mlops_serve_refuses_without_local_and_a_missing_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["serve", "--model", str(tmp_path / "model.tar.gz")]) == 2
    assert "only --local is supported" in capsys.readouterr().err
    assert run(["serve", "--local", "--model", str(tmp_path / "model.tar.gz"), "--port", "0"]) == 1
    assert "cannot read model artifact" in capsys.readouterr().err


def test_mlops_serve_refuses_an_endpoint_name_sagemaker_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--local", "--model", str(tmp_path / "model.tar.gz"), "--endpoint-name", "my_endpoint"]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "mlops serve: --endpoint-name: endpoint name must be 1-63 letters, digits or hyphens" in err
    assert "Traceback" not in err


def test_mlops_data_defaults_come_from_the_settings() -> None:
    parser = argparse.ArgumentParser(prog="mlops")
    model_verbs.register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(["data", "--out", "x"])
    defaults = Settings()
    assert (args.rows, args.seed) == (defaults.synthetic_rows, defaults.data_seed)
    assert parser.parse_args(["serve", "--model", "m"]).endpoint_name == DEFAULT_ENDPOINT_NAME
