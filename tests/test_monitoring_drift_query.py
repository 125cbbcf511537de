"""The drift query builder (monitoring.drift_query): Athena text checked with sqlglot, DuckDB text run for real."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest
import sqlglot
from sqlglot import exp

from monitoring.baseline import Baseline, parse_baseline
from monitoring.capture import capture_objects, write_capture_objects
from monitoring.drift_query import (
    ATHENA,
    DUCKDB,
    TimeWindow,
    athena_table,
    build_drift_query,
    duckdb_files,
)
from monitoring.tools import synthetic_drift as sd

N_FEATURES = 6
START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 11, 26, 10, 15, tzinfo=UTC), datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
# Malformed lines a capture file may hold; each must count as one invalid record.
BAD_LINES = [
    '{"v":1,"ts":"2026-11-26T10:20:00.000Z","request_id":"r","model_id":"m","i":0,"n":1,"x":[1.0,2',  # truncated
    "garbage that is not json",
    '{"v":1,"ts":"2026-11-26T10:20:00.000Z","x":[1.0,2.0],"score":0.5}',  # too few features
    '{"v":1,"ts":"2026-11-26T10:20:00.000Z","x":[1,2,3,4,5,6],"score":null}',
    '{"v":1,"ts":"not a time","x":[1,2,3,4,5,6],"score":0.5}',
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("capture")
    names = sd.feature_names(N_FEATURES)
    reference, ref_score = sd.sample(5000, N_FEATURES, seed=3)
    baseline = parse_baseline(sd.baseline_document(reference, ref_score, names))
    current, score = sd.sample(3000, N_FEATURES, seed=4, drifted=(2,), missing_share=0.05)
    current[::97, 3] = 250.0  # out of the plausible range
    records = list(sd.capture_records(current, score, START, seconds_per_row=3.0, rows_per_request=25))
    files = write_capture_objects(capture_objects(records, "ep", "b1"), root)
    bad = root / "capture/ep/2026/11/26/10/bad.jsonl"
    # A NaN value (which Python's json writes) is a missing value, not an invalid row.
    nan_record = json.dumps({**records[0], "x": [float("nan"), *records[0]["x"][1:]], "ts": "2026-11-26T10:20:00.000Z"})
    bad.write_text("\n".join([*BAD_LINES, nan_record]) + "\n")
    times = np.array([datetime.fromisoformat(r["ts"]) for r in records])
    in_window = (times >= WINDOW.start) & (times < WINDOW.end)
    expected_x = np.vstack([current[in_window], np.array([[np.nan, *records[0]["x"][1:]]], dtype=float)])
    expected_score = np.append(score[in_window], records[0]["score"])
    return {
        "baseline": baseline,
        "files": sorted([*files, bad]),
        "expected_x": expected_x,
        "expected_score": expected_score,
        "n_records": len(records) + len(BAD_LINES) + 1,
    }


def run_duckdb(sql: str, connection: duckdb.DuckDBPyConnection | None = None) -> dict:
    connection = connection or duckdb.connect()
    cursor = connection.execute(sql)
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))


def test_the_athena_text_parses_as_trino_and_reads_only_the_windows_partitions(setup: dict) -> None:
    query = build_drift_query(setup["baseline"], ATHENA, athena_table("mlops_capture", "requests"), WINDOW)
    tree = sqlglot.parse_one(query.sql, read="trino")
    tables = {(t.db, t.name) for t in tree.find_all(exp.Table)}
    assert ("mlops_capture", "requests") in tables
    bounds = {
        (type(node).__name__, node.expression.this)
        for node in tree.find_all(exp.GTE, exp.LTE)
        if node.this.name == "dt"
    }
    assert bounds == {("GTE", "2026/11/26/10"), ("LTE", "2026/11/26/11")}
    # element_at (NULL past the end, 1-based) rather than x[j], which fails a Trino query when out of bounds.
    brackets = list(tree.find_all(exp.Bracket))
    assert len(brackets) == 2 * N_FEATURES and all(b.args.get("safe") for b in brackets)
    for duckdb_only in ("read_json", "isfinite(", "try_cast", "len(", "TIMESTAMPTZ"):
        assert duckdb_only not in query.sql
    select_names = [e.alias_or_name for e in tree.expressions]
    assert select_names == query.columns()


def test_the_duckdb_text_counts_exactly_what_numpy_counts(setup: dict) -> None:
    baseline = setup["baseline"]
    query = build_drift_query(baseline, DUCKDB, duckdb_files(setup["files"]), WINDOW)
    counts = query.parse_row(run_duckdb(query.sql))
    x, score = setup["expected_x"], setup["expected_score"]
    assert counts.records == setup["n_records"]
    assert counts.invalid_records == len(BAD_LINES)
    assert counts.rows == len(x)
    assert counts.first_ts == "2026-11-26T10:15:00.000Z"
    columns = [*((dist, x[:, j]) for j, dist in enumerate(baseline.features)), (baseline.score, score)]
    for (dist, values), got in zip(columns, [*counts.features, counts.score], strict=True):
        finite = values[np.isfinite(values)]
        assert got.le_counts == tuple(int(np.sum(finite <= e)) for e in dist.edges), dist.name
        assert got.count == len(finite)
        assert got.total == pytest.approx(finite.sum(), rel=1e-12)
        assert got.missing == int(np.sum(~np.isfinite(values)))
        lo, hi = dist.range
        assert got.out_of_range == int(np.sum((finite < lo) | (finite > hi)))
    assert counts.features[1].missing > 100  # the injected missing values were seen
    assert counts.features[3].out_of_range > 10


@pytest.mark.parametrize("model_ids", [(), ("synthetic-model",), ("another-model",)])
def test_the_athena_text_means_what_the_duckdb_text_means(setup: dict, model_ids: tuple[str, ...]) -> None:
    """Transpile the Athena SQL to DuckDB with sqlglot and run it over a table shaped like the Glue table."""
    baseline = setup["baseline"]
    athena = build_drift_query(baseline, ATHENA, athena_table("db", "requests"), WINDOW, model_ids)
    local = build_drift_query(baseline, DUCKDB, duckdb_files(setup["files"]), WINDOW, model_ids)
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA db")
    # `dt` comes from the object's path, as partition projection derives it from the S3 key.
    connection.execute(
        "CREATE VIEW db.requests AS SELECT ts, model_id, x, score, "
        r"regexp_extract(filename, '(\d{4}/\d{2}/\d{2}/\d{2})/[^/]+$', 1) AS dt FROM "
        + duckdb_files(setup["files"]).replace("ignore_errors = true", "ignore_errors = true, filename = true")
    )
    connection.execute("CREATE MACRO is_finite(v) AS isfinite(v)")  # Trino's name for DuckDB's isfinite
    transpiled = sqlglot.transpile(athena.sql, read="trino", write="duckdb")[0]
    from_athena = athena.parse_row(run_duckdb(transpiled, connection))
    from_duckdb = local.parse_row(run_duckdb(local.sql))
    own = len(setup["expected_x"]) if model_ids != ("another-model",) else 0
    assert from_athena.rows == from_duckdb.rows == own
    assert from_athena.other_model_rows == from_duckdb.other_model_rows == len(setup["expected_x"]) - own
    assert from_athena.other_model_id == from_duckdb.other_model_id == ("synthetic-model" if own == 0 else None)
    assert (from_athena.other_width_rows, from_athena.other_width) == (from_duckdb.other_width_rows, 2)
    assert from_athena.invalid_records == from_duckdb.invalid_records
    # Partition pruning: the 09:xx hour is never read by the Athena text.
    assert from_athena.records == from_duckdb.records - 600  # 09:30-10:00 at one row per 3 s
    for a, d in zip(
        [*from_athena.features, from_athena.score], [*from_duckdb.features, from_duckdb.score], strict=True
    ):
        assert (a.le_counts, a.count, a.missing, a.out_of_range) == (d.le_counts, d.count, d.missing, d.out_of_range)
        assert a.total == pytest.approx(d.total, rel=1e-12)


def test_without_a_window_duckdb_counts_every_valid_row(setup: dict) -> None:
    query = build_drift_query(setup["baseline"], DUCKDB, duckdb_files(setup["files"]), None)
    counts = query.parse_row(run_duckdb(query.sql))
    assert counts.rows == setup["n_records"] - len(BAD_LINES)
    assert counts.first_ts == "2026-11-26T09:30:00.000Z"


def test_the_result_map_names_each_feature_by_its_baseline_name(setup: dict) -> None:
    query = build_drift_query(setup["baseline"], DUCKDB, duckdb_files(setup["files"]), None)
    assert [spec.name for spec in query.features] == setup["baseline"].feature_names
    assert query.score.name == "prediction_score"
    assert query.features[0].le_columns()[0] == "f1_le0"  # x[1] is the first feature: arrays are 1-based


def test_query_building_rejects_what_athena_cannot_run(setup: dict) -> None:
    baseline = setup["baseline"]
    with pytest.raises(ValueError, match="needs a time window"):
        build_drift_query(baseline, ATHENA, athena_table("db", "t"), None)
    with pytest.raises(ValueError, match="Glue table name"):
        athena_table("db", 'requests"; DROP TABLE x; --')
    with pytest.raises(ValueError, match="dialect must be one of"):
        build_drift_query(baseline, "spark", athena_table("db", "t"), WINDOW)
    with pytest.raises(ValueError, match="at least one capture file"):
        duckdb_files([])
    huge = parse_baseline(
        {
            "version": 1,
            "n_rows": 10,
            "features": [
                {
                    "name": f"f{j}",
                    "edges": [k / 1000 for k in range(1, 200)],
                    "shares": [1 / 200] * 200,
                    "mean": 0.1,
                    "std": 0.05,
                    "min": 0.0,
                    "max": 0.2,
                    "range": [0.0, 1.0],
                }
                for j in range(60)
            ],
            "score": {
                "name": "s",
                "edges": [0.5],
                "shares": [0.5, 0.5],
                "mean": 0.5,
                "std": 0.1,
                "min": 0,
                "max": 1,
                "range": [0, 1],
            },
        }
    )
    with pytest.raises(ValueError, match="over Athena's limit"):
        build_drift_query(huge, ATHENA, athena_table("db", "t"), WINDOW)


def test_a_time_window_knows_its_partitions_and_rejects_naive_or_empty_bounds() -> None:
    assert WINDOW.partition_bounds() == ("2026/11/26/10", "2026/11/26/11")  # end is exclusive
    assert WINDOW.as_dict() == {"start": "2026-11-26T10:15:00.000Z", "end": "2026-11-26T12:00:00.000Z"}
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeWindow(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="before its end"):
        TimeWindow(WINDOW.end, WINDOW.start)


def test_duckdb_reads_file_paths_with_quotes_safely(tmp_path: Path, setup: dict) -> None:
    odd = tmp_path / "it's here.jsonl"
    odd.write_bytes(setup["files"][0].read_bytes())
    query = build_drift_query(setup["baseline"], DUCKDB, duckdb_files([odd]), None)
    assert query.parse_row(run_duckdb(query.sql)).rows > 0


def test_rows_of_another_model_or_width_are_counted_apart_not_mixed_in(tmp_path: Path) -> None:
    reference, ref_score = sd.sample(2000, 4, seed=1)
    baseline = parse_baseline(sd.baseline_document(reference, ref_score, sd.feature_names(4)))
    current, score = sd.sample(300, 4, seed=2)
    ours = list(sd.capture_records(current, score, START, seconds_per_row=1.0, rows_per_request=10))
    theirs = [{**r, "model_id": "model-b"} for r in ours[:100]]
    wide = [{**r, "x": [*r["x"], 1.0]} for r in ours[:7]]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*ours, *theirs, *wide]))
    query = build_drift_query(baseline, DUCKDB, duckdb_files([path]), None, ("synthetic-model",))
    counts = query.parse_row(run_duckdb(query.sql))
    assert (counts.rows, counts.other_model_rows, counts.other_model_id) == (300, 100, "model-b")
    assert (counts.other_width_rows, counts.other_width, counts.invalid_records) == (7, 5, 7)


def capture_body(n_features: int = 4) -> tuple[Baseline, str]:
    reference, ref_score = sd.sample(500, n_features, seed=1)
    baseline = parse_baseline(sd.baseline_document(reference, ref_score, sd.feature_names(n_features)))
    current, score = sd.sample(50, n_features, seed=2)
    return baseline, "".join(json.dumps(r) + "\n" for r in sd.capture_records(current, score, START, 1.0, 10))


@pytest.mark.parametrize(
    ("directory", "name"),
    [
        ("sub[1]", "*.jsonl"),
        ("sub[1]", "a[1].jsonl"),
        ("sub[1]", "[!x].jsonl"),
        ("sub", "what?.jsonl"),
        ("sub", "it's.jsonl"),
        ("sub", "back\\slash.jsonl"),
        ("sub", "**"),
    ],
)
def test_a_capture_file_name_is_a_name_never_a_glob_pattern(tmp_path: Path, directory: str, name: str) -> None:
    baseline, body = capture_body()
    (tmp_path / directory).mkdir()
    for other in ("a.jsonl", "b.jsonl", "a1.jsonl", "what1.jsonl", "x.jsonl"):  # what a pattern would also match
        (tmp_path / directory / other).write_text(body)
    target = tmp_path / directory / name
    target.write_text(body)
    query = build_drift_query(baseline, DUCKDB, duckdb_files([target]), None)
    assert query.parse_row(run_duckdb(query.sql)).records == 50


def test_a_path_duckdb_cannot_spell_literally_is_refused_not_misread(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rename it"):
        duckdb_files([tmp_path / "sub[1]" / "back\\slash.jsonl"])
