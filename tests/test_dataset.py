"""The data set: synthetic generation, the schema, and the validation of user CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dataset import (
    DRIFTED_FEATURES,
    FEATURE_NAMES,
    LABEL,
    DatasetError,
    generate,
    load_schema,
    prepare_user_csv,
    validate_labeled_csv,
    write_dataset,
)
from model_code import train as train_script


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in ("train.csv", "validation.csv", "schema.json")}


def test_same_seed_and_rows_write_byte_identical_files(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", rows=2000, seed=3)
    write_dataset(tmp_path / "b", rows=2000, seed=3)
    write_dataset(tmp_path / "c", rows=2000, seed=4)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b")
    assert file_bytes(tmp_path / "a")["train.csv"] != file_bytes(tmp_path / "c")["train.csv"]


def test_files_follow_the_contract_and_pass_their_own_schema(tmp_path: Path) -> None:
    files = write_dataset(tmp_path, rows=1000, seed=1)
    schema = load_schema(files.schema)
    header = files.train.read_text().splitlines()[0].split(",")
    assert header == [*FEATURE_NAMES, LABEL] == schema.columns
    assert (files.n_train, files.n_validation) == (800, 200)
    for path, rows in ((files.train, 800), (files.validation, 200)):
        data = validate_labeled_csv(path, schema)
        assert data.features.shape == (rows, len(FEATURE_NAMES))
        assert set(np.unique(data.labels)) == {0, 1}
        for i, spec in enumerate(schema.features):
            present = data.features[:, i][~np.isnan(data.features[:, i])]
            assert spec.min <= present.min() and present.max() <= spec.max, spec.name
    raw = json.loads(files.schema.read_text())
    assert raw["label"] == "churned"
    assert all(set(f) == {"name", "type", "min", "max", "description"} for f in raw["features"])
    assert '"' not in files.train.read_text()


def test_churn_rate_is_realistic_and_some_survey_answers_are_missing() -> None:
    data = generate(20000, seed=42)
    assert 0.15 < data.labels.mean() < 0.35
    missing = np.isnan(data.features).mean(axis=0)
    satisfaction = FEATURE_NAMES.index("satisfaction_score")
    assert 0.01 < missing[satisfaction] < 0.06
    assert missing.sum() == missing[satisfaction]


def test_missing_values_are_written_as_empty_fields(tmp_path: Path) -> None:
    files = write_dataset(tmp_path, rows=2000, seed=5)
    column = FEATURE_NAMES.index("satisfaction_score")
    cells = [line.split(",")[column] for line in files.train.read_text().splitlines()[1:]]
    assert "" in cells
    assert all(cell == "" or cell.isdigit() for cell in cells)


def test_drift_shifts_only_the_named_features_and_keeps_the_labels() -> None:
    normal = generate(20000, seed=11)
    drifted = generate(20000, seed=11, drift=True)
    assert len(DRIFTED_FEATURES) == 5
    np.testing.assert_array_equal(normal.labels, drifted.labels)
    for i, name in enumerate(FEATURE_NAMES):
        before, after = normal.features[:, i], drifted.features[:, i]
        if name in DRIFTED_FEATURES:
            shift = abs(np.nanmean(after) - np.nanmean(before)) / np.nanstd(before)
            assert shift > 0.3, f"{name} moved only {shift:.2f} sd"
        else:
            np.testing.assert_array_equal(before, after, err_msg=name)


def test_too_few_rows_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="at least 100"):
        write_dataset(tmp_path, rows=50, seed=1)


def write_user_csv(path: Path, rows: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["age,income,visits,bought"]
    for i in range(rows):
        visits = "" if i % 17 == 0 else str(int(rng.integers(0, 9)))
        lines.append(f"{int(rng.integers(18, 80))},{rng.uniform(1e3, 9e4):.3f},{visits},{int(rng.random() < 0.3)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_user_csv_is_split_80_20_deterministically_with_ranges_from_the_data(tmp_path: Path) -> None:
    source = write_user_csv(tmp_path / "mine.csv")
    first = prepare_user_csv(source, "bought", tmp_path / "a", seed=9)
    prepare_user_csv(source, "bought", tmp_path / "b", seed=9)
    prepare_user_csv(source, "bought", tmp_path / "c", seed=10)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b")
    assert file_bytes(tmp_path / "a")["train.csv"] != file_bytes(tmp_path / "c")["train.csv"]
    assert (first.n_train, first.n_validation) == (240, 60)
    schema = load_schema(first.schema)
    assert schema.label == "bought" and schema.feature_names == ["age", "income", "visits"]
    original = sorted((tmp_path / "mine.csv").read_text().splitlines()[1:])
    written = first.train.read_text().splitlines()[1:] + first.validation.read_text().splitlines()[1:]
    assert sorted(written) == original  # every row kept, cell text unchanged
    income = validate_labeled_csv(source, schema).features[:, 1]
    assert (schema.features[1].min, schema.features[1].max) == (income.min(), income.max())


@pytest.mark.parametrize(
    ("content", "label", "message"),
    [
        ("a,b,y\n1,2,0\n", "label", "label column 'label' not found; columns are a, b, y"),
        ("a,b,y\n1,2,0\n1,x2,1\n", "y", "line 3, column 'b': 'x2' is not a number"),
        ("a,b,y\n1,2,0\n1,inf,1\n", "y", "line 3, column 'b': 'inf' is not finite"),
        ("a,b,y\n1,2,0\n1,2,3\n", "y", "line 3: label 'y' must be 0 or 1, got '3'"),
        ("a,b,y\n1,2,0\n1,2\n", "y", "line 3: 2 fields, the header has 3"),
        ("a,a,y\n1,2,0\n", "y", "column 'a' appears twice"),
        ("y\n1\n0\n", "y", "no feature columns"),
        ("", "y", "empty file"),
    ],
)
def test_bad_user_csv_is_refused_with_a_message_naming_the_problem(
    tmp_path: Path, content: str, label: str, message: str
) -> None:
    source = tmp_path / "user.csv"
    source.write_text(content)
    with pytest.raises(DatasetError) as raised:
        prepare_user_csv(source, label, tmp_path / "out")
    assert message in str(raised.value)
    assert not (tmp_path / "out" / "train.csv").exists()


def test_user_csv_needs_enough_rows_and_both_classes(tmp_path: Path) -> None:
    few = tmp_path / "few.csv"
    few.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(99)))
    with pytest.raises(DatasetError, match="99 data rows, at least 100 are needed"):
        prepare_user_csv(few, "y", tmp_path / "out")
    one_class = tmp_path / "one.csv"
    one_class.write_text("a,y\n" + "".join(f"{i},0\n" for i in range(200)))
    with pytest.raises(DatasetError, match="only the value 0"):
        prepare_user_csv(one_class, "y", tmp_path / "out")


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"features": [{"name": "a", "min": 0, "max": 1}]}, "`label` must be a non-empty string"),
        ({"label": "y", "features": []}, "`features` must be a non-empty list"),
        ({"label": "y", "features": [{"name": "a", "min": 2, "max": 1}]}, "min <= max"),
        ({"label": "y", "features": [{"min": 0, "max": 1}]}, "non-empty `name`"),
        ({"label": "a", "features": [{"name": "a", "min": 0, "max": 1}]}, "appears twice"),
    ],
)
def test_malformed_schema_is_refused(tmp_path: Path, schema: dict, message: str) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    with pytest.raises(DatasetError, match=message.replace("`", ".").replace("(", r"\(")):
        load_schema(path)


def test_csv_missing_a_schema_column_is_refused(tmp_path: Path) -> None:
    files = write_dataset(tmp_path / "data", rows=200, seed=1)
    schema = load_schema(files.schema)
    lines = files.train.read_text().splitlines()
    trimmed = tmp_path / "trimmed.csv"
    trimmed.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n")
    with pytest.raises(DatasetError, match="missing column\\(s\\) 'tenure_months'"):
        validate_labeled_csv(trimmed, schema)


def test_column_names_that_need_quoting_survive_the_split_and_train(tmp_path: Path) -> None:
    source = write_user_csv(tmp_path / "mine.csv")
    lines = source.read_text().splitlines()
    lines[0] = '"age, years",income,"visits ""web""","churn flag"'
    source.write_text("\n".join(lines) + "\n")
    files = prepare_user_csv(source, "churn flag", tmp_path / "out", seed=1)
    schema = load_schema(files.schema)
    assert schema.columns == ["age, years", "income", 'visits "web"', "churn flag"]
    assert files.train.read_text().splitlines()[0] == '"age, years",income,"visits ""web""",churn flag'
    data = validate_labeled_csv(files.train, schema)
    assert data.features.shape == (240, 3)
    # The training job reads the same file the same way.
    features, _ = train_script.read_csv_file(files.train, train_script.read_schema(files.schema.parent))
    np.testing.assert_array_equal(features, data.features)
