"""Capture records (monitoring.capture): parsing log lines, partitioning, subscription events, files."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.capture import (
    CAPTURE_MARKER,
    MalformedCaptureLine,
    capture_objects,
    decode_cloudwatch_logs_event,
    parse_capture_line,
    partition_key,
    records_from_log_lines,
    write_capture_objects,
)

RECORD = {
    "v": 1,
    "ts": "2026-11-26T10:59:59.999Z",
    "request_id": "r-1",
    "model_id": "job-1",
    "i": 0,
    "n": 2,
    "x": [1.5, None, -3],
    "score": 0.73,
}


def line(record: dict, prefix: str = "") -> str:
    return f"{prefix}{CAPTURE_MARKER} {json.dumps(record)}"


def subscription_event(messages: list[str], message_type: str = "DATA_MESSAGE") -> dict:
    payload = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/aws/sagemaker/Endpoints/ep",
        "logStream": "AllTraffic/i-1",
        "subscriptionFilters": ["capture"],
        "logEvents": [{"id": str(1000 + k), "timestamp": 0, "message": m} for k, m in enumerate(messages)],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}


def test_a_marker_line_after_a_logger_prefix_parses_to_its_record() -> None:
    parsed = parse_capture_line(line(RECORD, prefix="2026-11-26 10:59:59,999 INFO inference: "))
    assert parsed == {**RECORD, "x": [1.5, None, -3.0]}


def test_a_line_without_the_marker_is_not_a_record() -> None:
    assert parse_capture_line("2026-11-26 INFO model loaded in 5 ms") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (line(RECORD)[:-20], "not valid JSON"),  # truncated
        (f"{CAPTURE_MARKER} [1, 2]", "not an object"),
        (line({k: v for k, v in RECORD.items() if k not in ("x", "score")}), "lacks required field"),
        (line({**RECORD, "v": 2}), "version"),
        (line({**RECORD, "ts": "yesterday"}), "ISO 8601"),
        (line({**RECORD, "i": 2}), "0 <= i < n"),
        (line({**RECORD, "x": [1, "a"]}), "non-numeric"),
        (line({**RECORD, "x": [1, True]}), "non-numeric"),
        (line({**RECORD, "score": None}), "score"),
        (line({**RECORD, "request_id": ""}), "request_id"),
    ],
)
def test_malformed_marker_lines_raise_a_specific_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(MalformedCaptureLine, match=message):
        parse_capture_line(text)


def test_non_finite_feature_values_become_missing_so_records_stay_strict_json() -> None:
    text = line(RECORD).replace('"x": [1.5, null, -3]', '"x": [NaN, Infinity, 2.5]')
    parsed = parse_capture_line(text)
    assert parsed is not None and parsed["x"] == [None, None, 2.5]
    json.dumps(parsed, allow_nan=False)


def test_partition_key_is_the_utc_hour_of_the_record() -> None:
    assert partition_key(RECORD, "my-ep") == "capture/my-ep/2026/11/26/10"
    assert partition_key({**RECORD, "ts": "2026-11-26T00:30:00+01:00"}, "my-ep") == "capture/my-ep/2026/11/25/23"
    assert partition_key({**RECORD, "ts": "2026-12-31T23:00:00"}, "ep") == "capture/ep/2026/12/31/23"


def test_partition_key_rejects_an_endpoint_name_that_could_escape_the_prefix() -> None:
    with pytest.raises(ValueError, match="endpoint name"):
        partition_key(RECORD, "../other")


def test_log_lines_yield_records_and_count_only_malformed_marker_lines_as_skipped() -> None:
    good = line(RECORD)
    lines = [
        "INFO starting worker",
        good,
        line(RECORD)[:40],
        f"{good}\n{line({**RECORD, 'i': 1})}",  # one log event holding two lines
        f"{CAPTURE_MARKER} not json",
    ]
    records, skipped = records_from_log_lines(lines)
    assert [r["i"] for r in records] == [0, 0, 1]
    assert skipped == 2


def test_a_subscription_event_decodes_to_its_messages_and_a_stable_batch_id() -> None:
    event = subscription_event(["a", "b"])
    batch = decode_cloudwatch_logs_event(event)
    assert batch.messages == ["a", "b"]
    assert batch.log_group == "/aws/sagemaker/Endpoints/ep"
    assert batch.batch_id == decode_cloudwatch_logs_event(event).batch_id
    assert batch.batch_id != decode_cloudwatch_logs_event(subscription_event(["a", "b", "c"])).batch_id


def test_a_control_message_decodes_to_no_messages() -> None:
    assert decode_cloudwatch_logs_event(subscription_event(["CWL CONTROL MESSAGE"], "CONTROL_MESSAGE")).messages == []


@pytest.mark.parametrize(
    "event", [{}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": base64.b64encode(b"plain").decode()}}]
)
def test_a_bad_subscription_event_is_rejected_with_a_message(event: dict) -> None:
    with pytest.raises(ValueError, match="awslogs"):
        decode_cloudwatch_logs_event(event)


def test_capture_objects_split_a_batch_by_hour_into_jsonl_without_the_marker() -> None:
    late = {**RECORD, "ts": "2026-11-26T11:00:00.000Z", "i": 1}
    objects = capture_objects([RECORD, late], "ep", "batch-1")
    assert sorted(objects) == ["capture/ep/2026/11/26/10/batch-1.jsonl", "capture/ep/2026/11/26/11/batch-1.jsonl"]
    body = objects["capture/ep/2026/11/26/11/batch-1.jsonl"].decode()
    assert body.endswith("\n") and CAPTURE_MARKER not in body
    assert [json.loads(row) for row in body.splitlines()] == [late]


def test_capture_objects_become_files_in_the_s3_layout_under_a_directory(tmp_path: Path) -> None:
    objects = capture_objects([RECORD], "ep", "b")
    paths = write_capture_objects(objects, tmp_path)
    assert paths == [tmp_path / "capture/ep/2026/11/26/10/b.jsonl"]
    assert paths[0].read_bytes() == objects["capture/ep/2026/11/26/10/b.jsonl"]
    assert [p.name for p in paths[0].parent.iterdir()] == ["b.jsonl"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**RECORD, "ts": "9999-12-31T23:59:59-05:00"}, "ts"),  # past year 9999 once in UTC
        ({**RECORD, "ts": "0001-01-01T00:00:00+05:00"}, "ts"),  # before year 1 once in UTC
        ({**RECORD, "ts": "2026-11-26"}, "ISO 8601"),  # Python reads it, the contract does not
        ({**RECORD, "ts": "2026-W48-4T10:00:00"}, "ISO 8601"),
        ({**RECORD, "x": [10**400]}, "beyond float64"),
        ({**RECORD, "score": 10**400}, "beyond float64"),
        ({**RECORD, "i": 0, "n": 2**31}, "n <= 2147483647"),
        ({**RECORD, "v": True}, "version"),
        ({**RECORD, "v": 1.0}, "version"),
    ],
)
def test_out_of_range_values_are_malformed_lines_not_crashes(record: dict, message: str) -> None:
    with pytest.raises(MalformedCaptureLine, match=message):
        parse_capture_line(line(record))


@pytest.mark.parametrize(
    "payload", ["[" * 100_000, '{"v": 1, "i": ' + "9" * 5000 + "}", '{"a": ' * 50_000 + "1" + "}" * 50_000]
)
def test_json_that_python_cannot_hold_is_a_malformed_line(payload: str) -> None:
    with pytest.raises(MalformedCaptureLine, match="JSON"):
        parse_capture_line(f"{CAPTURE_MARKER} {payload}")


def test_a_record_keeps_exactly_the_contract_fields_with_its_time_in_utc() -> None:
    text = line({**RECORD, "ts": "2026-11-26T12:59:59.999+02:00", "extra": float("nan"), "x": [1, None]})
    parsed = parse_capture_line(text)
    assert parsed == {**RECORD, "x": [1.0, None], "score": 0.73}
    assert list(parsed) == ["v", "ts", "request_id", "model_id", "i", "n", "x", "score"]
    assert (
        parse_capture_line(line({**RECORD, "ts": "2026-11-26T10:59:59.123456"}))["ts"] == "2026-11-26T10:59:59.123456Z"
    )


def test_a_record_with_a_line_separator_in_a_string_is_one_record() -> None:
    record = {**RECORD, "request_id": "a\u2028b"}
    text = f"{CAPTURE_MARKER} {json.dumps(record, ensure_ascii=False)}"
    records, skipped = records_from_log_lines([text])
    assert (len(records), skipped) == (1, 0)
    assert records[0]["request_id"] == "a\u2028b"


@pytest.mark.parametrize(
    "event",
    [
        {"awslogs": {"data": 5}},
        {"awslogs": {"data": base64.b64encode(gzip.compress(b"[1, 2]")).decode()}},
        {"awslogs": {"data": base64.b64encode(gzip.compress(b'{"logEvents": [1]}')).decode()}},
        {"awslogs": {"data": base64.b64encode(gzip.compress(b'{"logEvents": {"a": 1}}')).decode()}},
        {"awslogs": {"data": base64.b64encode(gzip.compress(b"[" * 100_000)).decode()}},
    ],
)
def test_a_subscription_payload_of_the_wrong_shape_is_rejected_with_a_message(event: dict) -> None:
    with pytest.raises(ValueError, match="awslogs"):
        decode_cloudwatch_logs_event(event)


# --- properties: whatever follows the marker, one bad line costs exactly one record -----------------

offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=offsets)
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**300), 10**300)
good_records = st.builds(
    lambda when, request_id, model_id, n, x, score: {
        "v": 1,
        "ts": when.isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "model_id": model_id,
        "i": n - 1,
        "n": n,
        "x": x,
        "score": score,
    },
    times,
    st.text(min_size=1, max_size=8),
    st.text(min_size=1, max_size=8),
    st.integers(1, 2**31 - 1),
    st.lists(st.none() | numbers | st.sampled_from([float("nan"), float("inf")]), max_size=5),
    st.floats(0.0, 1.0),
)
bad_payloads = st.one_of(
    good_records.map(lambda r: json.dumps(r)[: len(json.dumps(r)) // 2]),  # truncated
    good_records.map(lambda r: json.dumps({**r, "ts": "9999-12-31T23:59:59-05:00"})),
    good_records.map(lambda r: json.dumps({**r, "score": float("nan")})),
    good_records.map(lambda r: json.dumps({**r, "x": [10**400]})),
    good_records.map(lambda r: json.dumps({**r, "i": r["n"]})),
    st.sampled_from(["[" * 5000, "{}", "null", '"text"', "9" * 5000]),
    st.text(max_size=30).filter(lambda text: not text.lstrip().startswith("{")),
)


@given(st.lists(st.tuples(st.booleans(), good_records, bad_payloads), max_size=12), st.text(max_size=12))
@settings(max_examples=200, deadline=None)
def test_one_bad_line_costs_exactly_its_own_record(lines: list[tuple[bool, dict, str]], prefix: str) -> None:
    prefix = prefix.replace(CAPTURE_MARKER, "").replace("\n", " ")
    messages = [f"{prefix}{CAPTURE_MARKER} {json.dumps(good) if ok else bad}" for ok, good, bad in lines]
    records, skipped = records_from_log_lines(messages)
    assert skipped == sum(1 for ok, _, _ in lines if not ok)
    assert [r["request_id"] for r in records] == [good["request_id"] for ok, good, _ in lines if ok]
    objects = capture_objects(records, "ep", "batch")  # every kept record serialises and partitions
    written = [json.loads(row) for body in objects.values() for row in body.decode().splitlines()]
    assert sorted(written, key=json.dumps) == sorted(records, key=json.dumps)
    assert all(parse_capture_line(f"{CAPTURE_MARKER} {json.dumps(r)}") == r for r in records)


@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@settings(max_examples=300, deadline=None)
def test_any_text_after_the_marker_is_a_record_or_a_malformed_line_never_a_crash(payload: str) -> None:
    try:
        record = parse_capture_line(f"{CAPTURE_MARKER} {payload}")
    except MalformedCaptureLine as exc:
        assert str(exc).startswith("capture ") and "\n" not in str(exc)
        return
    assert record is not None
    json.dumps(record, allow_nan=False)
