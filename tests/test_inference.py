"""The inference handler in-process: decoding, predictions, response formats, errors and capture."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from sagemaker_inference.errors import BaseInferenceToolkitError
from sagemaker_inference.transformer import Transformer

from local.request_context import RequestContext
from model_code import inference
from monitoring.capture import parse_capture_line
from tests.model_fixtures import csv_body, extracted_model, validation_features, xgboost_scores


def load_model(percent: str | None = None, model_id: str = "job-123") -> inference.LoadedModel:
    saved = {key: os.environ.get(key) for key in ("MLOPS_CAPTURE_PERCENT", "MLOPS_MODEL_ID")}
    try:
        os.environ["MLOPS_MODEL_ID"] = model_id
        if percent is None:
            os.environ.pop("MLOPS_CAPTURE_PERCENT", None)
        else:
            os.environ["MLOPS_CAPTURE_PERCENT"] = percent
        return inference.model_fn(str(extracted_model()))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def model() -> Iterator[inference.LoadedModel]:
    yield load_model(percent="0")


def predict(model: inference.LoadedModel, body: str | bytes, content_type: str = "text/csv") -> np.ndarray:
    return inference.predict_fn(inference.input_fn(body, content_type), model)


def answer(model: inference.LoadedModel, body: str | bytes, accept: str = "application/json") -> np.ndarray:
    """A whole request as the toolkit runs it (input_fn, predict_fn, output_fn); returns the scores."""
    scores = predict(model, body)
    inference.output_fn(scores, accept)
    return scores


def test_csv_rows_score_what_xgboost_itself_predicts(model: inference.LoadedModel) -> None:
    features = validation_features(200)
    assert np.isnan(features).any()  # missing values included
    scores = predict(model, csv_body(features))
    np.testing.assert_array_equal(scores, xgboost_scores(features))


@pytest.mark.parametrize("missing", [[0], [14], [3, 4], [0, 1, 2], [12, 13, 14], [1, 5, 9]])
def test_empty_fields_anywhere_in_a_row_are_missing_values(model: inference.LoadedModel, missing: list[int]) -> None:
    features = validation_features(3).copy()
    features[:, missing] = np.nan
    body = csv_body(features)
    parsed = inference.input_fn(body, "text/csv")
    np.testing.assert_array_equal(np.isnan(parsed), np.isnan(features))
    np.testing.assert_array_equal(inference.predict_fn(parsed, model), xgboost_scores(features))
    spaced = body.replace(",,", ", ,")
    np.testing.assert_array_equal(np.isnan(inference.input_fn(spaced, "text/csv")), np.isnan(features))


def test_json_lists_objects_and_nulls_score_like_csv(model: inference.LoadedModel) -> None:
    features = validation_features(20)
    rows = [[None if v != v else v for v in row] for row in features.tolist()]
    names = model.feature_names
    as_lists = json.dumps({"instances": rows})
    as_objects = json.dumps({"instances": [dict(zip(names, row, strict=True)) for row in rows]})
    expected = xgboost_scores(features)
    np.testing.assert_array_equal(predict(model, as_lists, "application/json"), expected)
    np.testing.assert_array_equal(predict(model, as_objects, "application/json"), expected)


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [("\n", "text/csv"), ("", "text/csv"), ("\r\n", "text/csv"), ("\n\n", "text/csv; charset=utf-8")],
)
def test_line_endings_and_a_trailing_newline_are_tolerated(
    model: inference.LoadedModel, suffix: str, content_type: str
) -> None:
    features = validation_features(3)
    lines = csv_body(features).splitlines()
    body = ("\r\n" if suffix == "\r\n" else "\n").join(lines) + suffix
    payload = body.encode() if "charset" in content_type else body
    np.testing.assert_array_equal(predict(model, payload, content_type), xgboost_scores(features))


def test_json_response_round_trips_xgboosts_float32_scores_and_labels(model: inference.LoadedModel) -> None:
    scores = predict(model, csv_body(validation_features(50)))
    body, content_type = inference.output_fn(scores, "application/json")
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    np.testing.assert_array_equal(np.array([p["score"] for p in predictions], dtype=np.float32), scores)
    assert [p["label"] for p in predictions] == [int(s >= 0.5) for s in scores]
    assert 0 < sum(p["label"] for p in predictions) < 50


def test_csv_response_has_one_score_label_line_per_row(model: inference.LoadedModel) -> None:
    scores = predict(model, csv_body(validation_features(7)))
    body, content_type = inference.output_fn(scores, "text/csv")
    assert content_type == "text/csv"
    lines = body.splitlines()
    assert len(lines) == 7 and body.endswith("\n")
    parsed = [line.split(",") for line in lines]
    np.testing.assert_array_equal(np.array([float(s) for s, _ in parsed], dtype=np.float32), scores)
    assert [int(label) for _, label in parsed] == [int(s >= 0.5) for s in scores]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("application/json", "application/json"),
        ("text/csv", "text/csv"),
        ("TEXT/CSV; charset=utf-8", "text/csv"),
        ("application/*", "application/json"),
        ("text/*", "text/csv"),
        ("*/*", "application/json"),
        ("image/png, text/csv", "text/csv"),
        ("application/json;q=0.2, text/csv;q=0.9", "text/csv"),
        ("text/csv;q=0, application/json", "application/json"),
    ],
)
def test_accept_header_chooses_the_response_type(accept: str | None, expected: str) -> None:
    _, content_type = inference.output_fn(np.array([0.25], dtype=np.float32), accept)
    assert content_type == expected


NAMES_HINT = "expected 15 (tenure_months, contract_months"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("1,2,3\n", "text/csv", 400, f"row 1 has 3 values, {NAMES_HINT}"),
        (
            "1," * 14 + "1\n" + "1," * 14 + "x7\n",
            "text/csv",
            400,
            "row 2, column 15 (dependents): 'x7' is not a number",
        ),
        ("1," * 14 + "inf\n", "text/csv", 400, "row 1, column 15 (dependents): 'inf' is not finite"),
        ("", "text/csv", 400, "empty body"),
        ("\n\n", "text/csv", 400, "empty body"),
        ("1," * 14 + "1\n\n" + "1," * 14 + "1\n", "text/csv", 400, "row 2 is empty"),
        ("tenure_months," + "a," * 13 + "b\n", "text/csv", 400, "row 1 looks like a header"),
        (b"1,2\xff,3", "text/csv; charset=utf-8", 400, "body is not valid UTF-8 (byte 3)"),
        ("{", "application/json", 400, "body is not valid JSON"),
        ("[[1, 2]]", "application/json", 400, 'JSON body must be an object {"instances": [...]}'),
        ('{"instances": []}', "application/json", 400, '"instances" must be a non-empty list'),
        ('{"instances": [[1, 2]]}', "application/json", 400, f"instance 1 has 2 values, {NAMES_HINT}"),
        (
            '{"instances": [' + "[" + "1," * 14 + '"7"]]}',
            "application/json",
            400,
            "feature dependents: '\"7\"' is not a number",
        ),
        ('{"instances": [' + "[" + "1," * 14 + "true]]}", "application/json", 400, "'true' is not a number or null"),
        ('{"instances": [' + "[" + "1," * 14 + "NaN]]}", "application/json", 400, "NaN is not a number in JSON"),
        ("1," * 14 + "nan", "text/csv", 400, "row 1, column 15 (dependents): 'nan' is not a number; leave the field"),
        (
            '{"instances": [' + "[" + "1," * 14 + "1e999]]}",
            "application/json",
            400,
            "feature dependents: value is not finite",
        ),
        ('{"instances": [' + "[" + "1," * 14 + "1" + "0" * 400 + "]]}", "application/json", 400, "too large"),
        ('{"instances": [{"age": 3}]}', "application/json", 400, "instance 1: feature 'tenure_months' is missing"),
        ('{"instances": [{"nope": 3}]}', "application/json", 400, "instance 1: unknown feature 'nope'"),
        ('{"instances": ["1,2"]}', "application/json", 400, "instance 1 must be a list of 15 values or an object"),
        ("[" * 100000, "application/json", 400, "body is not valid JSON"),
        ("1", "application/x-npy", 415, "Content-Type 'application/x-npy' is not supported"),
        ("1", None, 415, "Content-Type is missing"),
        ("1", "text/csv; charset=latin-1", 415, "charset 'latin-1' is not supported"),
    ],
)
def test_client_mistakes_raise_toolkit_errors_naming_the_problem(
    model: inference.LoadedModel, body: str | bytes, content_type: str | None, status: int, message: str
) -> None:
    with pytest.raises(BaseInferenceToolkitError) as raised:
        inference.input_fn(body, content_type)
    assert raised.value.status_code == status
    assert message in raised.value.message


def test_unsupported_accept_raises_406() -> None:
    with pytest.raises(BaseInferenceToolkitError) as raised:
        inference.output_fn(np.array([0.5], dtype=np.float32), "image/png;q=1, application/xml")
    assert raised.value.status_code == 406
    assert "accept application/json or text/csv" in raised.value.message


def test_capture_writes_one_contract_record_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    model = load_model(percent=None, model_id="training-job-7")
    features = validation_features(5)
    capsys.readouterr()
    scores = answer(model, csv_body(features))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(line.startswith("MLOPS_CAPTURE {") for line in lines)
    records = [parse_capture_line(line) for line in lines]
    assert {r["request_id"] for r in records} == {records[0]["request_id"]}
    assert [r["i"] for r in records] == list(range(5)) and {r["n"] for r in records} == {5}
    assert {r["model_id"] for r in records} == {"training-job-7"} and {r["v"] for r in records} == {1}
    for record, row, score in zip(records, features.tolist(), scores.tolist(), strict=True):
        assert record["x"] == [None if v != v else v for v in row]
        assert np.float32(record["score"]) == np.float32(score)
        assert record["ts"].endswith("Z") and len(record["ts"]) == len("2026-11-26T10:00:00.123Z")


def test_capture_percent_samples_exactly_that_share_of_requests(capsys: pytest.CaptureFixture[str]) -> None:
    model = load_model(percent="25")
    body = csv_body(validation_features(1))
    capsys.readouterr()
    for _ in range(100):
        answer(model, body)
    assert len(capsys.readouterr().out.splitlines()) == 25


def test_capture_off_prints_nothing(model: inference.LoadedModel, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    answer(model, csv_body(validation_features(3)))
    assert capsys.readouterr().out == ""


def served(transformer: Transformer, body: bytes, accept: str) -> tuple[int, str]:
    """One request through the toolkit's Transformer, as the container's model server hands it over."""
    headers = {"Content-Type": "text/csv", "Accept": accept}
    context = RequestContext(str(extracted_model()), headers)
    (response,) = transformer.transform([{"body": body}], context)
    status, _ = context.get_response_status()
    return status or 200, response if isinstance(response, str) else response.decode()


def test_a_request_refused_for_its_accept_header_captures_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The container imports SAGEMAKER_PROGRAM by module name; hand it this module.
    monkeypatch.setitem(sys.modules, "inference", inference)
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "inference.py")
    monkeypatch.setenv("MLOPS_CAPTURE_PERCENT", "50")
    transformer = Transformer()
    body = csv_body(validation_features(1)).encode()
    capsys.readouterr()
    # Well-formed rows, so input_fn and predict_fn run; only output_fn refuses the Accept header.
    refused = [served(transformer, body, "application/xml") for _ in range(3)]
    assert {status for status, _ in refused} == {406}
    assert inference.CAPTURE_MARKER not in capsys.readouterr().out
    # Refused requests take no sampling turn: of the next two answered ones, exactly one is captured.
    answered = [served(transformer, body, "text/csv") for _ in range(2)]
    assert [status for status, _ in answered] == [200, 200]
    captured = [line for line in capsys.readouterr().out.splitlines() if inference.CAPTURE_MARKER in line]
    assert len(captured) == 1
    record = parse_capture_line(captured[0])
    assert record["n"] == 1 and np.float32(record["score"]) == np.float32(float(answered[1][1].split(",")[0]))


@pytest.mark.parametrize("percent", ["150", "-1", "most"])
def test_a_bad_capture_percent_stops_the_model_from_loading(percent: str) -> None:
    with pytest.raises(ValueError, match="MLOPS_CAPTURE_PERCENT must be a number from 0 to 100"):
        load_model(percent=percent)
