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
from mlops_cli.main import main
from mlops_core.settings import Settings
from tests.conftest import ROOT
from tests.model_fixtures import small_dataset


def run(argv: list[str]) -> int:
    """Run a verb as the console script does, usage errors included."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


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


def one_error_line(capsys: pytest.CaptureFixture[str], verb: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"mlops {verb}: error: ")
    return err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rows", "1_000"], "argument --rows: '1_000' is not a whole number"),
        (["--rows", "nan"], "argument --rows: 'nan' is not a whole number"),
        (["--rows", "1e3"], "argument --rows: '1e3' is not a whole number"),
        (["--rows", "99999999999"], "rows must be between 1 and 1000000"),
        (["--seed", "-1"], "argument --seed: must be a whole number from 0 to 4294967295"),
        (["--seed", "\u0664\u0662"], "argument --seed"),
    ],
)
def test_mlops_data_refuses_bad_numbers_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert run(["data", "--out", str(tmp_path), *extra]) == 2
    assert message in one_error_line(capsys, "data")


def test_mlops_data_into_an_existing_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("mine")
    assert run(["data", "--out", str(target), "--rows", "200"]) == 2
    assert f"{target}: exists and is not a directory" in one_error_line(capsys, "data")
    assert target.read_text() == "mine"
    assert run(["data", "--out", str(target / "below"), "--rows", "200"]) == 2
    assert "cannot create the directory" in one_error_line(capsys, "data")


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
        (["--local", "--hp", "eta=1_0"], 1, "argument --eta: '1_0' is not a plain decimal number"),
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
    assert run(["train", "--local", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert f"--data {data} has no schema.json" in one_error_line(capsys, "train")
    (data / "schema.json").write_text("{")
    assert run(["train", "--local", "--data", str(data), "--out", str(tmp_path / "out")]) == 1
    assert "schema.json is malformed" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["train.csv", "validation.csv"])
def test_mlops_train_names_the_users_data_directory_not_a_temporary_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_dataset(), data)
    (data / missing).unlink()
    assert run(["train", "--local", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    message = one_error_line(capsys, "train")
    assert f"--data {data} has no {missing}" in message and "sagemaker-local" not in message


def test_mlops_train_refuses_an_out_path_that_is_a_file_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert run(["train", "--local", "--data", str(small_dataset()), "--out", str(taken)]) == 2
    assert f"--out {taken} exists and is not a directory" in one_error_line(capsys, "train")


def test_mlops_train_prints_the_gate_verdict_and_gate_fails_a_model_below_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {**context, "min_validation_auc": 0.999}}))
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--local", "--data", str(small_dataset()), "--out", str(tmp_path / "out"), "--hp", "num_round=5"]
    assert run(argv) == 0
    assert "quality gate: rejected: validation AUC 0." in capsys.readouterr().out
    assert run([*argv, "--gate"]) == 1
    captured = capsys.readouterr()
    assert "quality gate: rejected" in captured.out and "below the quality gate" in captured.err
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {**context, "min_validation_auc": 0.5}}))
    assert run([*argv, "--gate"]) == 0
    assert "quality gate: approved: validation AUC 0." in capsys.readouterr().out


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
