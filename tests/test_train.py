"""Training: train.py under SageMaker's script-mode contract, run by the local training runner."""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from local.container_env import container_bin
from local.training import pack_model, run_training
from mlops_core.quality_gate import quality_gate
from model_code import train as train_script
from model_code.failure_reason import find_reason
from model_code.metric_definitions import METRIC_DEFINITIONS
from tests.model_fixtures import FAST_HYPERPARAMETERS, extracted_model, small_dataset, trained_model

MODEL_CODE = Path(__file__).resolve().parents[1] / "model_code"
CONTRACT_FILES = {"model.ubj", "schema.json", "baseline.json", "evaluation.json"}


def test_small_synthetic_data_clears_the_quality_gate() -> None:
    evaluation = trained_model().evaluation
    decision = quality_gate(evaluation, 0.75)
    assert decision.approved, decision.reason
    assert evaluation["validation"]["auc"] > 0.8


def test_shuffled_labels_do_not_clear_the_quality_gate(tmp_path: Path) -> None:
    data = tmp_path / "shuffled"
    shutil.copytree(small_dataset(), data)
    rng = np.random.default_rng(0)
    for name in ("train.csv", "validation.csv"):
        header, *rows = (data / name).read_text().splitlines()
        labels = [row.rsplit(",", 1)[1] for row in rows]
        rng.shuffle(labels)
        lines = [row.rsplit(",", 1)[0] + "," + label for row, label in zip(rows, labels, strict=True)]
        (data / name).write_text("\n".join([header, *lines]) + "\n")
    result = run_training(data, tmp_path / "out", {**FAST_HYPERPARAMETERS, "num_round": "60"})
    decision = quality_gate(result.evaluation, 0.75)
    assert not decision.approved
    assert result.evaluation["validation"]["auc"] < 0.65


def test_model_tar_holds_exactly_the_four_contract_files_at_its_root() -> None:
    with tarfile.open(trained_model().model_tar) as archive:
        members = archive.getmembers()
    assert {m.name for m in members} == CONTRACT_FILES
    assert all(m.isfile() for m in members)


def test_packing_the_same_model_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = pack_model(extracted_model(), tmp_path / "a" / "model.tar.gz")
    second = pack_model(extracted_model(), tmp_path / "b" / "model.tar.gz")
    assert first.read_bytes() == second.read_bytes()


def test_printed_metric_lines_are_what_the_metric_definitions_parse() -> None:
    result = trained_model()
    assert set(result.metrics) == {d["Name"] for d in METRIC_DEFINITIONS}
    validation = result.evaluation["validation"]
    expected = {"auc": "auc", "accuracy": "accuracy", "logloss": "log_loss", "f1": "f1"}
    for name, key in expected.items():
        assert result.metrics[f"validation:{name}"] == pytest.approx(validation[key], abs=1e-6)
    assert re.search(r"^validation:auc=0\.\d{6};$", result.log, re.MULTILINE)


def test_evaluation_json_has_the_contract_fields() -> None:
    evaluation = json.loads((extracted_model() / "evaluation.json").read_text())
    assert set(evaluation) == {"validation", "best_iteration", "n_train", "n_validation", "hyperparameters"}
    assert set(evaluation["validation"]) == {"auc", "accuracy", "log_loss", "f1"}
    assert (evaluation["n_train"], evaluation["n_validation"]) == (2400, 600)
    # `--eta "0.2"` arrived as the float 0.2, decoded the way the container decodes it.
    assert evaluation["hyperparameters"]["eta"] == 0.2
    assert evaluation["hyperparameters"]["num_round"] == 150


def test_baseline_bins_reproduce_the_training_distribution() -> None:
    baseline = json.loads((extracted_model() / "baseline.json").read_text())
    schema = json.loads((extracted_model() / "schema.json").read_text())
    lines = (small_dataset() / "train.csv").read_text().splitlines()[1:]
    features = np.array([[c or "nan" for c in line.split(",")[:-1]] for line in lines], dtype=np.float64)
    assert baseline["version"] == 1 and baseline["n_rows"] == len(lines)
    assert [f["name"] for f in baseline["features"]] == [f["name"] for f in schema["features"]]
    for i, (entry, spec) in enumerate(zip(baseline["features"], schema["features"], strict=True)):
        edges = np.array(entry["edges"])
        assert np.all(np.diff(edges) > 0), entry["name"]
        assert len(entry["shares"]) == len(edges) + 1
        assert sum(entry["shares"]) == pytest.approx(1.0)
        present = features[:, i][~np.isnan(features[:, i])]
        # Bin 0 is v <= e1, bin j is e_j < v <= e_{j+1}, the last bin v > eK.
        counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
        np.testing.assert_allclose(entry["shares"], counts / present.size)
        assert entry["mean"] == pytest.approx(present.mean())
        assert entry["std"] == pytest.approx(present.std())
        assert (entry["min"], entry["max"]) == (present.min(), present.max())
        assert entry["range"] == [spec["min"], spec["max"]]
    continuous = next(f for f in baseline["features"] if f["name"] == "monthly_charges")
    assert 15 <= len(continuous["edges"]) <= 19  # about 20 bins
    score = baseline["score"]
    assert score["name"] == "prediction_score" and score["range"] == [0.0, 1.0]
    assert 0.0 <= score["min"] < score["max"] <= 1.0 and sum(score["shares"]) == pytest.approx(1.0)


def test_auc_equals_the_share_of_correctly_ordered_pairs() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # rounding makes ties
    pairs = [(p, n) for p, n in itertools.product(scores[labels == 1], scores[labels == 0])]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert train_script.roc_auc(labels, scores) == pytest.approx(expected)


def run_script(tmp_path: Path, mutate: dict[str, str] | None = None, args: list[str] | None = None) -> tuple[int, Path]:
    """Run train.main in a hand-made tree where only SM_OUTPUT_DATA_DIR locates the output."""
    train, validation = tmp_path / "train", tmp_path / "validation"
    train.mkdir()
    validation.mkdir()
    for name, target in (("train.csv", train), ("schema.json", train), ("validation.csv", validation)):
        shutil.copyfile(small_dataset() / name, target / name)
    for relative, content in (mutate or {}).items():
        path = tmp_path / relative
        if content == "<delete>":
            path.unlink()
        else:
            path.write_text(content)
    env = {
        "SM_CHANNEL_TRAIN": str(train),
        "SM_CHANNEL_VALIDATION": str(validation),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
    }
    return train_script.main(args or ["--num_round", "5"], env), tmp_path / "output" / "failure"


def header() -> str:
    return (small_dataset() / "train.csv").read_text().splitlines()[0]


def csv_with(line_number: int, line: str) -> str:
    lines = (small_dataset() / "train.csv").read_text().splitlines()
    lines[line_number - 1] = line
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            {"train/train.csv": csv_with(5, "abc," + "1," * 14 + "0")},
            "train.csv line 5, column 'tenure_months': 'abc' is not a number",
        ),
        (
            {"train/train.csv": csv_with(6, "NaN," + "1," * 14 + "0")},
            "train.csv line 6, column 'tenure_months': 'NaN' is not a number; leave the field empty",
        ),
        (
            {"train/train.csv": csv_with(1, header().replace("tenure_months", "tenure"))},
            "train.csv: missing column(s) 'tenure_months'",
        ),
        (
            {"train/train.csv": csv_with(1, header().replace("contract_months", "tenure_months"))},
            "train.csv: column 'tenure_months' appears twice (columns 1 and 2)",
        ),
        (
            {"train/train.csv": csv_with(7, "1e39," + "1," * 14 + "0")},
            "train.csv line 7, column 'tenure_months': '1e39' is too large for XGBoost",
        ),
        (
            {"train/train.csv": csv_with(8, "1_000," + "1," * 14 + "0")},
            "train.csv line 8, column 'tenure_months': '1_000' is not a plain decimal number",
        ),
        (
            {"train/train.csv": csv_with(9, "1," * 15 + "2")},
            "train.csv line 9: label 'churned' must be 0 or 1, got '2'",
        ),
        ({"train/train.csv": csv_with(9, "1," * 15)}, "train.csv line 9: label 'churned' must be 0 or 1, got ''"),
        ({"train/train.csv": csv_with(4, "1,2,3")}, "train.csv line 4: 3 fields, the header has 16"),
        ({"validation/validation.csv": "<delete>"}, "channel 'validation' holds no .csv file"),
        ({"validation/validation.csv": ""}, "validation.csv: empty file, expected a header row"),
        ({"validation/validation.csv": header() + "\n"}, "channel 'validation' has no data rows"),
        ({"train/schema.json": "<delete>"}, "schema.json not found in the train channel"),
        ({"train/schema.json": "{"}, "schema.json is malformed"),
    ],
)
def test_bad_training_data_writes_the_failure_file_and_exits_non_zero(
    tmp_path: Path, mutate: dict[str, str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, failure = run_script(tmp_path, mutate)
    assert code != 0
    text = failure.read_text()
    assert reason in text
    assert text.count("\n") == 1  # one line, as FailureReason shows it
    assert not (tmp_path / "model" / "model.ubj").exists()
    # The image's trainer overwrites the failure file: the marked log line carries the same reason.
    assert find_reason(capsys.readouterr().err.splitlines()) == text.strip()


def quoted(text: str) -> str:
    """Every field of a CSV in double quotes, as spreadsheets and pandas (QUOTE_ALL) write it."""
    return "".join(",".join(f'"{cell}"' for cell in line.split(",")) + "\r\n" for line in text.splitlines())


def test_training_reads_csv_whose_header_and_values_are_quoted(tmp_path: Path) -> None:
    plain = {name: (small_dataset() / name).read_text() for name in ("train.csv", "validation.csv")}
    mutate = {
        "train/train.csv": quoted(plain["train.csv"]),
        "validation/validation.csv": quoted(plain["validation.csv"]),
    }
    code, failure = run_script(tmp_path, mutate)
    assert code == 0 and not failure.exists()
    evaluation = json.loads((tmp_path / "model" / "evaluation.json").read_text())
    assert (evaluation["n_train"], evaluation["n_validation"]) == (2400, 600)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--eta", "2"], "eta must be in (0, 1]"),
        (["--max_depth", "deep"], "argument --max_depth: 'deep' is not a whole number"),
        (["--eta", "1_0"], "argument --eta: '1_0' is not a plain decimal number"),
        (["--gamma", "-1"], "gamma must be >= 0"),
        (["--max_depth", "100000000000000000"], "max_depth must be from 1 to 63"),
        (["--learning_speed", "3"], "unrecognized arguments: --learning_speed 3"),
    ],
)
def test_bad_hyperparameters_fail_the_job_with_their_name(tmp_path: Path, args: list[str], reason: str) -> None:
    code, failure = run_script(tmp_path, args=args)
    assert code != 0
    assert reason in failure.read_text()


def test_model_code_imports_only_what_the_container_ships() -> None:
    # The sourcedir's own modules are top-level in the container, `model_code.` here.
    allowed = set(sys.stdlib_module_names) | {"numpy", "xgboost", "sagemaker_containers", "__future__"}
    allowed |= {"model_code", *(path.stem for path in MODEL_CODE.glob("*.py"))}
    for path in MODEL_CODE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_model_code_parses_as_python_3_10_the_containers_version() -> None:
    for path in MODEL_CODE.glob("*.py"):
        source = path.read_text()
        ast.parse(source, filename=path.name, feature_version=(3, 10))
        assert "tomllib" not in source and "Self" not in source, path.name
    python310 = str(container_bin("python"))  # the container environment's Python 3.10
    files = [str(p) for p in MODEL_CODE.glob("*.py")]
    check = subprocess.run(
        [python310, "-c", "import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]", *files],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
