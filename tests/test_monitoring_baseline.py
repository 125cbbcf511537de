"""Loading and validating baseline.json (monitoring.baseline)."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import tarfile
from pathlib import Path

import pytest

from local import serving
from monitoring.baseline import BaselineError, load_baseline, parse_baseline
from tests.model_fixtures import archive_bytes

FEATURE = {
    "name": "tenure_months",
    "edges": [1.0, 5.0, 10.0],
    "shares": [0.2, 0.3, 0.3, 0.2],
    "mean": 6.0,
    "std": 4.0,
    "min": 0.0,
    "max": 40.0,
    "range": [0.0, 72.0],
}
DOCUMENT = {
    "version": 1,
    "n_rows": 1000,
    "features": [FEATURE, {**FEATURE, "name": "monthly_charges"}],
    "score": {**FEATURE, "name": "prediction_score", "range": [0.0, 1.0]},
}


def broken(path: list, value: object) -> dict:
    document = copy.deepcopy(DOCUMENT)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def test_a_valid_baseline_parses_with_features_in_schema_order() -> None:
    baseline = parse_baseline(DOCUMENT)
    assert baseline.feature_names == ["tenure_months", "monthly_charges"]
    assert baseline.score.name == "prediction_score"
    assert baseline.features[0].cdf_at_edges == pytest.approx([0.2, 0.5, 0.8])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (broken(["version"], 2), "version"),
        (broken(["n_rows"], 0), "n_rows"),
        (broken(["features"], []), "non-empty list"),
        (broken(["features", 0, "edges"], [1.0, 1.0, 2.0]), r"features\[0\] \(tenure_months\).*ascending"),
        (broken(["features", 1, "shares"], [0.5, 0.5]), r"monthly_charges.*len\(edges\)\+1"),
        (broken(["features", 0, "shares"], [0.2, 0.3, 0.3, 0.3]), "sum to 1"),
        (broken(["features", 0, "std"], float("nan")), "`std` must be a finite number"),
        (broken(["features", 0, "range"], [5.0, 1.0]), "lo 5.0 > hi 1.0"),
        (broken(["features", 1, "name"], "tenure_months"), "unique"),
        ({k: v for k, v in DOCUMENT.items() if k != "score"}, "lacks `score`"),
    ],
)
def test_a_bad_baseline_fails_with_a_message_naming_the_feature_and_field(document: dict, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        parse_baseline(document)


def test_an_unbounded_range_side_is_allowed() -> None:
    assert parse_baseline(broken(["features", 0, "range"], [0.0, None])).features[0].range == (0.0, None)


def test_the_baseline_loads_from_a_file_or_from_inside_model_tar_gz(tmp_path: Path) -> None:
    plain = tmp_path / "baseline.json"
    plain.write_text(json.dumps(DOCUMENT))
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        body = json.dumps(DOCUMENT).encode()
        info = tarfile.TarInfo("baseline.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    from_archive = load_baseline(archive)
    assert load_baseline(plain) == parse_baseline(DOCUMENT) == dataclasses.replace(from_archive, model_ids=())
    # The archive also names its model as `mlops serve` does.
    assert from_archive.model_ids == (serving._model_id(archive),)


def test_loading_names_the_file_when_it_is_missing_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="not found"):
        load_baseline(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(BaselineError, match=r"bad\.json is not valid JSON"):
        load_baseline(bad)


GOOD_ARCHIVE = archive_bytes({"baseline.json": json.dumps(DOCUMENT).encode(), "model.ubj": bytes(4000)})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD_ARCHIVE[: len(GOOD_ARCHIVE) // 2], "is not a readable model.tar.gz"),  # truncated download
        (GOOD_ARCHIVE[:40] + bytes(60) + GOOD_ARCHIVE[100:], "is not a readable model.tar.gz"),  # corrupt
        (b"\x1f\x8b", "is not a readable model.tar.gz"),
        (archive_bytes({"model.ubj": b"x"}), "without baseline.json at its root"),
        (b"\xff\xfe{", "is not valid JSON"),
        (b"[" * 100_000, "is not valid JSON"),
        (b'{"version": 1, "n_rows": 1' + b"0" * 5000 + b"}", "is not valid JSON"),
        (json.dumps({**DOCUMENT, "model_id": 5}).encode(), "model_id"),
        (json.dumps(DOCUMENT).replace('"mean": 6.0', '"mean": 1' + "0" * 400).encode(), "finite number"),
    ],
)
def test_a_damaged_baseline_or_archive_is_refused_in_one_line_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(content)
    with pytest.raises(BaselineError) as raised:
        load_baseline(path)
    assert message in str(raised.value) and str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_directory_is_not_a_baseline(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="is a directory"):
        load_baseline(tmp_path)


def test_the_baseline_names_the_model_it_was_trained_as() -> None:
    assert parse_baseline({**DOCUMENT, "model_id": "job-1"}).model_ids == ("job-1",)
    assert parse_baseline(DOCUMENT).model_ids == ()
