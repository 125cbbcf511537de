"""model_code/inference.py as the XGBoost 3.0-5 image serves it: conformance, predictions, formats, capture.

Every request goes over HTTP to the session's local endpoint, i.e. through the image's own serving
stack (sagemaker_containers' Worker and Transformer under gunicorn's gevent worker), so each status
and body asserted here is the one the container answers.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from dataset import FEATURE_NAMES
from local.demo.request_plan import MALFORMED_KINDS, malformed_request
from local.serving import LocalEndpoint, LocalEndpointError, project_sourcedir, serving_environment
from monitoring.capture import parse_capture_line
from tests.conftest import SHARED_ENDPOINT, SharedEndpoint
from tests.model_fixtures import (
    csv_body,
    post,
    read_capture,
    runtime_client,
    trained_model,
    validation_features,
    xgboost_scores,
)

MODEL_CODE = Path(__file__).resolve().parents[1] / "model_code"
NAMES = ", ".join(FEATURE_NAMES)
ROW = csv_body(validation_features(1)).strip()
ONES = "1," * 14 + "1"
TEXT = "text/plain; charset=utf-8"

# request (body, Content-Type, Accept; None = header left out) -> status and the whole answer body.
CONFORMANCE = [
    # Content-Type first (415), then Accept (406), then the body (400).
    (
        ("1", "application/x-npy", None),
        415,
        "Content-Type 'application/x-npy' is not supported: send text/csv or application/json",
    ),
    (("1", "text/csv; charset=latin-1", None), 415, "charset 'latin-1' is not supported: send UTF-8"),
    (
        ("x", "text/plain", "image/png"),
        415,
        "Content-Type 'text/plain' is not supported: send text/csv or application/json",
    ),
    ((ROW, "text/csv", "image/png"), 406, "Accept 'image/png' cannot be served: accept application/json or text/csv"),
    (
        (ROW, "text/csv", "image/png;q=1, application/xml"),
        406,
        "Accept 'image/png;q=1, application/xml' cannot be served: accept application/json or text/csv",
    ),
    (
        ("1,2", "text/csv", "application/xml"),
        406,
        "Accept 'application/xml' cannot be served: accept application/json or text/csv",
    ),
    # CSV bodies.
    (("1,2,3\n", "text/csv", None), 400, f"row 1 has 3 values, expected 15 ({NAMES})"),
    ((f"{ONES}\n{ONES[:-1]}x7\n", "text/csv", None), 400, "row 2, column 15 (dependents): 'x7' is not a number"),
    ((ONES[:-1] + "inf", "text/csv", None), 400, "row 1, column 15 (dependents): 'inf' is not finite"),
    # Forms float() and numpy read, which the project's number syntax does not.
    *(
        (
            ((ONES[:-1] + cell).encode(), "text/csv", None),
            400,
            f"row 1, column 15 (dependents): {cell!r} is not a plain decimal number (ASCII digits, one '.', "
            "optional exponent)",
        )
        for cell in ("1_000", "\u0661\u0662", "\uff11\uff12")
    ),
    ((ONES[:-1] + "1e400", "text/csv", None), 400, "row 1, column 15 (dependents): '1e400' is not finite"),
    (
        (ONES[:-1] + "nan", "text/csv", None),
        400,
        "row 1, column 15 (dependents): 'nan' is not a number; leave the field empty for a missing value",
    ),
    (("", "text/csv", None), 400, "empty body: send rows of 15 comma-separated feature values, no header"),
    (("\n\n", "text/csv", None), 400, "empty body: send rows of 15 comma-separated feature values, no header"),
    ((f"{ONES}\n\n{ONES}\n", "text/csv", None), 400, "row 2 is empty"),
    (
        (",".join(FEATURE_NAMES) + "\n" + ROW, "text/csv", None),
        400,
        "row 1 looks like a header: send feature values only",
    ),
    # Bytes that are not UTF-8: decoded by the toolkit (exact text/csv, application/json) or by us.
    ((b"1,2\xff,3", "text/csv", None), 400, "body is not valid UTF-8: row 1, column 2 holds a byte that is not UTF-8"),
    ((b"1,2\xff,3", "text/csv; charset=utf-8", None), 400, "body is not valid UTF-8 (byte 3)"),
    ((b'{"instances": [[1\xff]]}', "application/json", None), 400, "body is not valid UTF-8 (line 1, character 18)"),
    # JSON bodies.
    (
        ("{", "application/json", None),
        400,
        "body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    ),
    (
        ("1,2", None, None),
        400,
        "body is not valid JSON: Extra data: line 1 column 2 (char 1); for CSV rows send Content-Type: text/csv",
    ),
    (("[[1, 2]]", "application/json", None), 400, 'JSON body must be an object {"instances": [...]}, got a list'),
    (
        ('{"rows": [1]}', "application/json", None),
        400,
        'JSON object has no "instances" key (its keys: \'rows\'): send {"instances": [...]}',
    ),
    (('{"instances": []}', "application/json", None), 400, '"instances" must be a non-empty list of rows'),
    (('{"instances": [[1, 2]]}', "application/json", None), 400, f"instance 1 has 2 values, expected 15 ({NAMES})"),
    (
        ('{"instances": [[' + "1," * 14 + '"7"]]}', "application/json", None),
        400,
        "instance 1, feature dependents: '\"7\"' is not a number or null",
    ),
    (
        ('{"instances": [[' + "1," * 14 + "true]]}", "application/json", None),
        400,
        "instance 1, feature dependents: 'true' is not a number or null",
    ),
    (
        ('{"instances": [[' + "1," * 14 + "NaN]]}", "application/json", None),
        400,
        "NaN is not a number in JSON: send null for a missing value",
    ),
    (
        ('{"instances": [[' + "1," * 14 + "1e999]]}", "application/json", None),
        400,
        "instance 1, feature dependents: value is not finite",
    ),
    (
        ('{"instances": [[' + "1," * 14 + "1" + "0" * 400 + "]]}", "application/json", None),
        400,
        "a value is too large for a 64-bit float",
    ),
    (
        ('{"instances": [{"age": 3}]}', "application/json", None),
        400,
        "instance 1: feature 'tenure_months' is missing (send null for a missing value)",
    ),
    (('{"instances": [{"nope": 3}]}', "application/json", None), 400, "instance 1: unknown feature 'nope'"),
    (
        ('{"instances": ["1,2"]}', "application/json", None),
        400,
        "instance 1 must be a list of 15 values or an object keyed by feature name",
    ),
    (("[" * 100_000, "application/json", None), 400, "body is not valid JSON: nested too deeply"),
    # Well-formed requests: the media type of the answer.
    ((ROW, "text/csv", None), 200, "application/json"),
    ((ROW, "text/csv", "*/*"), 200, "application/json"),
    ((ROW, "TEXT/CSV", "text/csv"), 200, "text/csv"),
    ((ROW, "text/csv; charset=utf-8", "text/*"), 200, "text/csv"),
    ((ROW, "text/csv", "application/json;q=0.2, text/csv;q=0.9"), 200, "text/csv"),
    ((ROW, "text/csv", "text/csv;q=0, application/json"), 200, "application/json"),
    ((json.dumps({"instances": [[1.0] * 15]}), None, "application/*"), 200, "application/json"),
]


def headers_of(content_type: str | None, accept: str | None) -> dict[str, str]:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    return headers


@pytest.mark.parametrize(
    ("request_", "status", "expected"), CONFORMANCE, ids=[f"{s}-{i}" for i, (_, s, _) in enumerate(CONFORMANCE)]
)
def test_conformance_table(
    shared_endpoint: SharedEndpoint, request_: tuple[str | bytes, str | None, str | None], status: int, expected: str
) -> None:
    body, content_type, accept = request_
    code, headers, payload = post(shared_endpoint.port, "/invocations", body, headers_of(content_type, accept))
    assert code == status, payload[:300]
    if status == 200:
        media_type = headers["content-type"].split(";")[0]
        assert media_type == expected
        rows = len(json.loads(payload)["predictions"]) if media_type == "application/json" else payload.count(b"\n")
        assert rows == 1
    else:
        assert payload.decode() == expected + "\n"
        assert headers["content-type"] == TEXT


CLIENT_MISTAKES = [(request_, status, expected) for request_, status, expected in CONFORMANCE if status != 200]


@pytest.mark.parametrize(
    ("request_", "status", "expected"), CLIENT_MISTAKES, ids=[str(i) for i in range(len(CLIENT_MISTAKES))]
)
def test_the_runtime_route_reports_each_client_mistake_as_a_model_error(
    shared_endpoint: SharedEndpoint, request_: tuple[str | bytes, str | None, str | None], status: int, expected: str
) -> None:
    body, content_type, accept = request_
    code, _, payload = post(
        shared_endpoint.port, f"/endpoints/{SHARED_ENDPOINT}/invocations", body, headers_of(content_type, accept)
    )
    error = json.loads(payload)
    assert code == 424
    assert (error["OriginalStatusCode"], error["OriginalMessage"]) == (status, expected + "\n")


@pytest.mark.parametrize("kind", [*MALFORMED_KINDS, "invalid UTF-8"])
def test_every_malformed_kind_the_demo_sends_is_a_4xx_over_http_and_through_boto3(
    shared_endpoint: SharedEndpoint, kind: str
) -> None:
    if kind == "invalid UTF-8":
        body, content_type, accept = ROW.encode()[:-1] + b"\xfe", "text/csv", "application/json"
    else:
        planned = malformed_request(kind, ROW)
        body, content_type, accept = planned.body, planned.content_type, planned.accept
    status, _, payload = post(shared_endpoint.port, "/invocations", body, headers_of(content_type, accept))
    assert 400 <= status < 500 and payload.strip(), (status, payload)
    assert not re.search(rb'Traceback|File "|site-packages|/tmp/|<html', payload), payload
    client = runtime_client(shared_endpoint.url)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName=SHARED_ENDPOINT, Body=body, ContentType=content_type, Accept=accept)
    response = raised.value.response
    assert (response["OriginalStatusCode"], response["OriginalMessage"]) == (status, payload.decode())


def scores_of(payload: bytes, content_type: str) -> np.ndarray:
    if content_type.startswith("application/json"):
        predictions = json.loads(payload)["predictions"]
        assert [p["label"] for p in predictions] == [int(p["score"] >= 0.5) for p in predictions]
        return np.array([p["score"] for p in predictions], dtype=np.float32)
    pairs = [line.split(",") for line in payload.decode().splitlines()]
    assert [int(label) for _, label in pairs] == [int(float(score) >= 0.5) for score, _ in pairs]
    return np.array([float(score) for score, _ in pairs], dtype=np.float32)


def answer(
    shared_endpoint: SharedEndpoint, body: str, content_type: str, accept: str = "application/json"
) -> np.ndarray:
    status, headers, payload = post(
        shared_endpoint.port, "/invocations", body, {"Content-Type": content_type, "Accept": accept}
    )
    assert status == 200, payload
    return scores_of(payload, headers["content-type"])


@pytest.mark.parametrize("accept", ["application/json", "text/csv"])
def test_csv_rows_score_exactly_what_xgboost_itself_predicts(shared_endpoint: SharedEndpoint, accept: str) -> None:
    features = validation_features(200)
    assert np.isnan(features).any()  # missing values included
    np.testing.assert_array_equal(
        answer(shared_endpoint, csv_body(features), "text/csv", accept), xgboost_scores(features)
    )


@pytest.mark.parametrize("missing", [[0], [14], [3, 4], [0, 1, 2], [12, 13, 14], [1, 5, 9]])
def test_empty_fields_anywhere_in_a_row_are_missing_values(shared_endpoint: SharedEndpoint, missing: list[int]) -> None:
    features = validation_features(3).copy()
    features[:, missing] = np.nan
    body = csv_body(features)
    np.testing.assert_array_equal(answer(shared_endpoint, body, "text/csv"), xgboost_scores(features))
    spaced = body.replace(",,", ", ,")
    np.testing.assert_array_equal(answer(shared_endpoint, spaced, "text/csv"), xgboost_scores(features))


def test_json_lists_objects_and_nulls_score_like_csv(shared_endpoint: SharedEndpoint) -> None:
    features = validation_features(20)
    rows = [[None if v != v else v for v in row] for row in features.tolist()]
    as_lists = json.dumps({"instances": rows})
    as_objects = json.dumps({"instances": [dict(zip(FEATURE_NAMES, row, strict=True)) for row in rows]})
    expected = xgboost_scores(features)
    np.testing.assert_array_equal(answer(shared_endpoint, as_lists, "application/json"), expected)
    np.testing.assert_array_equal(answer(shared_endpoint, as_objects, "application/json", "text/csv"), expected)


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [("\n", "text/csv"), ("", "text/csv"), ("\r\n", "text/csv"), ("\n\n", "text/csv; charset=utf-8")],
)
def test_line_endings_and_a_trailing_newline_are_tolerated(
    shared_endpoint: SharedEndpoint, suffix: str, content_type: str
) -> None:
    features = validation_features(3)
    lines = csv_body(features).splitlines()
    body = ("\r\n" if suffix == "\r\n" else "\n").join(lines) + suffix
    np.testing.assert_array_equal(answer(shared_endpoint, body, content_type), xgboost_scores(features))


def test_a_batch_of_1000_rows_answers_every_row_in_order(shared_endpoint: SharedEndpoint) -> None:
    features = validation_features()[:600]
    features = np.concatenate([features, features[:400] * 1.01])
    for accept in ("application/json", "text/csv"):
        scores = answer(shared_endpoint, csv_body(features), "text/csv", accept)
        assert len(scores) == 1000
        np.testing.assert_array_equal(scores, xgboost_scores(features))


def test_an_answered_request_is_captured_one_contract_record_per_row(shared_endpoint: SharedEndpoint) -> None:
    shared_endpoint.endpoint.flush_capture()
    before = {r["request_id"] for r in read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT)}
    features = validation_features(25)
    scores = answer(shared_endpoint, csv_body(features), "text/csv")
    shared_endpoint.endpoint.flush_capture()
    records = [r for r in read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT) if r["request_id"] not in before]
    assert len(records) == 25 and len({r["request_id"] for r in records}) == 1
    records.sort(key=lambda r: r["i"])
    assert [r["x"] for r in records] == [[None if v != v else v for v in row] for row in features.tolist()]
    np.testing.assert_array_equal(np.array([r["score"] for r in records], dtype=np.float32), scores)
    assert {r["n"] for r in records} == {25} and {r["v"] for r in records} == {1}
    assert all(r["ts"].endswith("Z") and len(r["ts"]) == len("2026-11-26T10:00:00.123Z") for r in records)


def test_a_refused_request_captures_nothing(shared_endpoint: SharedEndpoint) -> None:
    shared_endpoint.endpoint.flush_capture()
    before = len(read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT))
    for accept in ("application/xml", "image/png"):
        assert post(shared_endpoint.port, "/invocations", ROW, {"Content-Type": "text/csv", "Accept": accept})[0] == 406
    assert post(shared_endpoint.port, "/invocations", "1,2", {"Content-Type": "text/csv"})[0] == 400
    shared_endpoint.endpoint.flush_capture()
    assert len(read_capture(shared_endpoint.capture_dir, SHARED_ENDPOINT)) == before


def test_capture_percent_samples_that_share_of_answered_requests_only(tmp_path: Path) -> None:
    model_tar = trained_model().model_tar
    environment = serving_environment(model_tar, project_sourcedir(), capture_percent=25)
    with LocalEndpoint(model_tar, capture_dir=tmp_path, environment=environment, log=lambda line: None) as endpoint:
        refused = [
            post(endpoint.port, "/invocations", ROW, {"Content-Type": "text/csv", "Accept": "x/y"}) for _ in range(5)
        ]
        assert {status for status, _, _ in refused} == {406}
        for _ in range(100):
            assert post(endpoint.port, "/invocations", ROW, {"Content-Type": "text/csv"})[0] == 200
        endpoint.flush_capture()
    # Refused requests take no sampling turn: of 100 answered ones, exactly 25 are captured.
    assert len(read_capture(tmp_path, "local-endpoint")) == 25


def test_a_bad_capture_percent_stops_the_model_from_loading_with_one_line(tmp_path: Path) -> None:
    model_tar = trained_model().model_tar
    environment = {**serving_environment(model_tar, project_sourcedir(), 0), "MLOPS_CAPTURE_PERCENT": "150"}
    with pytest.raises(LocalEndpointError) as raised:
        LocalEndpoint(model_tar, environment=environment, log=lambda line: None).start()
    message = str(raised.value)
    assert "MLOPS_CAPTURE_PERCENT must be a number from 0 to 100, got '150'" in message
    assert "\n" not in message


def test_the_image_refuses_a_module_with_both_transform_fn_and_input_fn(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    for module in MODEL_CODE.glob("*.py"):
        shutil.copyfile(module, code / module.name)
    with (code / "inference.py").open("a") as handle:
        handle.write("\n\ndef input_fn(body, content_type):\n    return body\n")
    with pytest.raises(LocalEndpointError, match="Cannot use transform_fn implementation with input_fn"):
        LocalEndpoint(trained_model().model_tar, submit_dir=code, log=lambda line: None).start()


def test_the_handler_defines_model_fn_and_transform_fn_only() -> None:
    tree = ast.parse((MODEL_CODE / "inference.py").read_text())
    public = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    assert public == {"model_fn", "transform_fn"}


def test_a_capture_line_parses_as_the_contract_record(shared_endpoint: SharedEndpoint) -> None:
    """What the handler writes to stdout is what the cloud's capture Lambda parses."""
    answer(shared_endpoint, ROW, "text/csv")
    spool = next((shared_endpoint.capture_dir / ".spool").glob("*.log"))
    lines = [line for line in spool.read_text().splitlines() if line.startswith("MLOPS_CAPTURE ")]
    assert lines
    record = parse_capture_line(lines[-1])
    assert record is not None and len(record["x"]) == len(FEATURE_NAMES)
