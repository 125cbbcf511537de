"""Property-based fuzzing of the container-true local endpoint: a client mistake is a 4xx with a message, never a 5xx.

Invalid UTF-8 included: under exactly `text/csv` or `application/json` the toolkit decodes the
body itself (Werkzeug puts U+FFFD in place of bad bytes), under any other type the handler does.
"""

from __future__ import annotations

import http.client
import json
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_ENDPOINT, SharedEndpoint
from tests.model_fixtures import csv_body, validation_features

N_FEATURES = 15
LEAKS = re.compile(rb'Traceback|File "|site-packages|/tmp/|<html|Internal Server Error')

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        [
            "text/csv",
            "application/json",
            "text/csv; charset=utf-8",
            "application/json; charset=UTF-8",
            "text/csv; charset=latin-1",
            "TEXT/CSV",
            "text/plain",
            "application/x-npy",
            "",
        ]
    ),
    header_text,
)
accepts = st.one_of(
    st.none(),
    st.sampled_from(
        ["application/json", "text/csv", "*/*", "text/*", "image/png", "text/csv;q=0", "application/json;q=x"]
    ),
    header_text,
)
cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", " ", "nan", "1e999", "-0", "1_0", "0x1", "tenure_months", '"3"', "\x00"]),
    st.text(max_size=6),
)
csv_rows = st.lists(cells, min_size=N_FEATURES - 2, max_size=N_FEATURES + 1).map(",".join)
valid_rows = st.lists(
    st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.integers(-1000, 1000).map(str) | st.just(""),
    min_size=N_FEATURES,
    max_size=N_FEATURES,
).map(",".join)
csv_bodies = st.tuples(st.lists(csv_rows | valid_rows, max_size=5), st.sampled_from(["", "\n", "\r\n", "\n\n"])).map(
    lambda parts: "\n".join(parts[0]) + parts[1]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=N_FEATURES + 1) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=40,
)
json_bodies = st.one_of(
    json_values.map(json.dumps),
    st.lists(json_values, max_size=4).map(lambda instances: json.dumps({"instances": instances})),
    st.lists(
        st.lists(st.floats() | st.none() | st.integers(), min_size=N_FEATURES, max_size=N_FEATURES), max_size=3
    ).map(lambda rows: json.dumps({"instances": rows})),
)


bodies = st.one_of(
    csv_bodies.map(str.encode), json_bodies.map(str.encode), st.text().map(str.encode), st.binary(max_size=200)
)


class Connection:
    """One keep-alive HTTP connection to the endpoint, reopened if the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.connection.request("POST", path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if attempt:
                    raise
        raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def connection(shared_endpoint: SharedEndpoint) -> Connection:
    return Connection(shared_endpoint.port)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=content_types, accept=accepts)
def test_every_request_gets_a_prediction_or_a_4xx_with_a_message(
    connection: Connection, body: bytes, content_type: str, accept: str | None
) -> None:
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    status, payload = connection.post("/invocations", body, headers)
    event(f"status {status}")
    assert status == 200 or 400 <= status < 500, (status, payload[:300])
    if status == 200:
        if payload.startswith(b"{"):
            predictions = json.loads(payload)["predictions"]
            assert all(0.0 <= p["score"] <= 1.0 and p["label"] in (0, 1) for p in predictions)
        else:
            assert all(0.0 <= float(line.split(",")[0]) <= 1.0 for line in payload.decode().splitlines())
    else:
        assert payload.strip(), status
        assert not LEAKS.search(payload), payload[:300]


@settings(max_examples=100, deadline=None)
@given(body=bodies, content_type=content_types)
def test_the_runtime_route_never_answers_a_server_error_for_a_client_mistake(
    connection: Connection, body: bytes, content_type: str
) -> None:
    status, payload = connection.post(f"/endpoints/{SHARED_ENDPOINT}/invocations", body, {"Content-Type": content_type})
    if status == 424:
        error = json.loads(payload)
        assert 400 <= error["OriginalStatusCode"] < 500 and error["OriginalMessage"].strip()
    else:
        assert status == 200


def test_the_server_still_answers_correctly_after_the_fuzzing(connection: Connection) -> None:
    body = csv_body(validation_features(3)).encode()
    first_status, first = connection.post("/invocations", body, {"Content-Type": "text/csv"})
    assert first_status == 200 and len(json.loads(first)["predictions"]) == 3
    status, again = connection.post("/invocations", body, {"Content-Type": "text/csv"})
    assert (status, again) == (200, first)
