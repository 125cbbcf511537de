"""Loading and validating baseline.json (monitoring.baseline)."""

from __future__ import annotations

import copy
import io
import json
import tarfile
from pathlib import Path

import pytest

from monitoring.baseline import BaselineError, load_baseline, parse_baseline

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
    assert load_baseline(plain) == load_baseline(archive) == parse_baseline(DOCUMENT)


def test_loading_names_the_file_when_it_is_missing_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="not found"):
        load_baseline(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(BaselineError, match=r"bad\.json is not valid JSON"):
        load_baseline(bad)
