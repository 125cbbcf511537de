"""The local drift path: capture files → DuckDB → report, through `mlops drift`."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_cli.main import main
from mlops_core.settings import Settings
from monitoring.baseline import parse_baseline
from monitoring.capture import capture_objects, write_capture_objects
from monitoring.drift_query import TimeWindow
from monitoring.drift_stats import DriftThresholds
from monitoring.tools import synthetic_drift as sd
from monitoring.tools.drift_engine_local import capture_files, run_local_drift
from tests.model_fixtures import archive_bytes

N_FEATURES = 8
DRIFTED = (0, 6)
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FEATURE_KEYS = {
    "name",
    "psi",
    "js_distance",
    "ks_distance",
    "mean_shift_sd",
    "missing_share",
    "out_of_range_share",
    "status",
}
REPORT_KEYS = {
    "endpoint",
    "window",
    "rows",
    "status",
    "features",
    "score",
    "worst",
    "skipped_lines",
    "other_model_rows",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift")
    names = sd.feature_names(N_FEATURES)
    reference, ref_score = sd.sample(10_000, N_FEATURES, seed=21)
    (root / "baseline.json").write_text(json.dumps(sd.baseline_document(reference, ref_score, names)))
    current, score = sd.sample(6000, N_FEATURES, seed=22, drifted=DRIFTED)
    records = sd.capture_records(current, score, START, seconds_per_row=1.0, rows_per_request=50)
    write_capture_objects(capture_objects(records, "ep", "batch"), root / "capture")
    # A truncated line and a garbage line in the middle of a file.
    hour_file = root / "capture/capture/ep/2026/11/26/10/batch.jsonl"
    lines = hour_file.read_text().splitlines()
    lines[10] = lines[10][: len(lines[10]) // 2]
    lines.insert(20, "\x00\x01 binary junk")
    hour_file.write_text("\n".join(lines) + "\n")
    return root


def mlops_drift(*argv: str) -> int:
    """Run `mlops drift` as the console script does, usage errors included."""
    try:
        return main(["drift", *argv])
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_mlops_drift_json_flags_the_drifted_features_in_the_contract_shape(
    workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    code = mlops_drift("--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture"), "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(report) == REPORT_KEYS
    assert all(set(f) == FEATURE_KEYS for f in [*report["features"], report["score"]])
    assert report["score"]["name"] == "prediction_score"
    assert report["rows"] == 6000 - 1  # one row was truncated
    assert report["skipped_lines"] == 2
    assert report["window"] == {"start": "2026-11-26T10:00:00.000Z", "end": "2026-11-26T11:39:59.000Z"}
    names = sd.feature_names(N_FEATURES)
    alerts = {f["name"] for f in report["features"] if f["status"] == "alert"}
    assert alerts == {names[j] for j in DRIFTED}
    assert all(f["status"] == "ok" for f in report["features"] if f["name"] not in alerts)
    assert report["status"] == "alert"
    assert report["worst"]["name"] in alerts


def test_mlops_drift_prints_a_table_by_default(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert mlops_drift("--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture")) == 0
    out = capsys.readouterr().out
    for name in [*sd.feature_names(N_FEATURES), "prediction_score"]:
        assert name in out
    assert "alert" in out and "skipped lines 2" in out


def test_an_empty_window_reports_no_data(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture"), "--json"]
    assert mlops_drift(*args, "--window-hours", "2", "--end", "2030-01-01T00:00:00Z") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "no_data"
    assert report["rows"] == 0
    assert report["features"] == [] and report["score"] is None and report["worst"] is None
    assert report["window"] == {"start": "2029-12-31T22:00:00.000Z", "end": "2030-01-01T00:00:00.000Z"}


def test_too_few_rows_or_no_files_is_no_data(workdir: Path, tmp_path: Path) -> None:
    baseline = parse_baseline(json.loads((workdir / "baseline.json").read_text()))
    strict = DriftThresholds.from_settings(Settings(drift_min_rows=10_000))
    assert run_local_drift(baseline, workdir / "capture", strict)["status"] == "no_data"
    empty = run_local_drift(baseline, tmp_path, DriftThresholds.from_settings(Settings()))
    assert (empty["status"], empty["rows"], empty["skipped_lines"]) == ("no_data", 0, 0)


def test_a_window_reads_only_the_hour_directories_it_covers(workdir: Path) -> None:
    window = TimeWindow(datetime(2026, 11, 26, 11, 0, tzinfo=UTC), datetime(2026, 11, 26, 11, 30, tzinfo=UTC))
    files = capture_files(workdir / "capture", window)
    assert [f.parent.name for f in files] == ["11"]
    baseline = parse_baseline(json.loads((workdir / "baseline.json").read_text()))
    report = run_local_drift(baseline, workdir / "capture", DriftThresholds.from_settings(Settings()), window=window)
    assert report["rows"] == 30 * 60
    assert report["skipped_lines"] == 0  # the damaged file is in hour 10, which was not read


def test_a_single_file_can_be_the_capture_path(workdir: Path) -> None:
    baseline = parse_baseline(json.loads((workdir / "baseline.json").read_text()))
    one = workdir / "capture/capture/ep/2026/11/26/11/batch.jsonl"
    report = run_local_drift(baseline, one, DriftThresholds.from_settings(Settings()), endpoint="ep")
    assert (report["endpoint"], report["rows"]) == ("ep", 6000 - 3600)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--capture", "missing-dir"], "capture path not found"),
        (["--capture", ".", "--end", "2026-01-01T00:00:00Z"], "--end needs --window-hours"),
        (["--capture", ".", "--window-hours", "0"], "argument --window-hours: must be more than 0"),
        (["--capture", ".", "--psi-warn", "0.5", "--psi-alert", "0.2"], "drift_psi_alert"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    workdir: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    assert mlops_drift("--baseline", "baseline.json", *extra) == 2
    assert message in capsys.readouterr().err


def test_a_bad_baseline_exits_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"version": 3}')
    assert mlops_drift("--baseline", str(bad), "--capture", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "version" in err and str(bad) in err


# --- bad input: one line, exit 2; the exit status contract ------------------------------------------


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("mlops drift: error: ")
    return err


def small_capture(root: Path, n_features: int = N_FEATURES, model_id: str = "synthetic-model", rows: int = 400) -> Path:
    current, score = sd.sample(rows, max(n_features, 4), seed=5)
    records = [
        {**r, "model_id": model_id, "x": r["x"][:n_features]}
        for r in sd.capture_records(current, score, START, seconds_per_row=1.0, rows_per_request=20)
    ]
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{model_id}-{n_features}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def baseline_of(workdir: Path, model_id: str | None) -> dict:
    document = json.loads((workdir / "baseline.json").read_text())
    return {**document, "model_id": model_id} if model_id else document


def test_a_truncated_model_archive_exits_2_in_one_line(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    body = (workdir / "baseline.json").read_bytes()
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(archive_bytes({"model.ubj": bytes(range(256)) * 64, "baseline.json": body})[:-200])
    assert mlops_drift("--baseline", str(archive), "--capture", str(workdir / "capture")) == 2
    assert "is not a readable model.tar.gz" in one_error_line(capsys)


@pytest.mark.parametrize("hours", ["1e10", "nan", "inf", "-1", "0", "1_0", "\u0661", "87600.1", "1e400"])
def test_an_absurd_window_exits_2_in_one_line(workdir: Path, hours: str, capsys: pytest.CaptureFixture) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture")]
    assert mlops_drift(*args, "--window-hours", hours) == 2
    assert "argument --window-hours" in one_error_line(capsys)


@pytest.mark.parametrize("end", ["9999-12-31T23:59:59-05:00", "yesterday", "2026-11-26", "0001-01-01T00:00:00+01:00"])
def test_an_impossible_window_end_exits_2_in_one_line(workdir: Path, end: str, capsys: pytest.CaptureFixture) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture")]
    assert mlops_drift(*args, "--window-hours", "1", "--end", end) == 2
    assert "argument --end" in one_error_line(capsys)


def test_a_baseline_of_other_features_names_the_mismatch_instead_of_no_data(
    workdir: Path, tmp_path: Path, capsys
) -> None:
    capture = small_capture(tmp_path / "capture", n_features=5)
    assert mlops_drift("--baseline", str(workdir / "baseline.json"), "--capture", str(capture)) == 2
    message = one_error_line(capsys)
    assert f"the baseline has {N_FEATURES} features, but 400 captured rows have 5 feature value(s)" in message


def test_a_baseline_of_another_model_names_both_models(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(baseline_of(workdir, "job-a")))
    capture = small_capture(tmp_path / "capture", model_id="job-b")
    assert mlops_drift("--baseline", str(baseline), "--capture", str(capture)) == 2
    message = one_error_line(capsys)
    assert "come from model 'job-b'" in message and "not from the baseline's 'job-a'" in message
    # --model-id says which model's rows to compare after all.
    assert mlops_drift("--baseline", str(baseline), "--capture", str(capture), "--model-id", "job-b", "--json") == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 400


def test_rows_of_another_model_are_left_out_and_counted(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(baseline_of(workdir, "job-a")))
    small_capture(tmp_path / "capture", model_id="job-a")
    small_capture(tmp_path / "capture", model_id="job-b", rows=120)
    assert mlops_drift("--baseline", str(baseline), "--capture", str(tmp_path / "capture"), "--json") == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (report["rows"], report["other_model_rows"]) == (400, 120)
    assert "120 rows of other models (e.g. 'job-b') left out" in captured.err


def test_a_model_archive_answers_to_the_id_mlops_serve_gives_it(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from local.serving import _model_id

    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(archive_bytes({"baseline.json": json.dumps(baseline_of(workdir, "job-a")).encode()}))
    capture = small_capture(tmp_path / "capture", model_id=_model_id(archive))
    assert mlops_drift("--baseline", str(archive), "--capture", str(capture), "--json") == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 400


def test_a_capture_file_named_like_a_pattern_is_read_once(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    capture = small_capture(tmp_path / "capture")
    pattern = capture.with_name("*.jsonl")
    pattern.write_text(capture.read_text())
    args = ["--baseline", str(workdir / "baseline.json"), "--json"]
    assert mlops_drift(*args, "--capture", str(pattern)) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 400
    assert mlops_drift(*args, "--capture", str(tmp_path / "capture")) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 800  # two files, each read once


def test_an_empty_capture_directory_exits_2_saying_so(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert mlops_drift("--baseline", str(workdir / "baseline.json"), "--capture", str(tmp_path)) == 2
    assert f"no capture files (*.jsonl) under {tmp_path}" in one_error_line(capsys)


def test_a_window_without_rows_shows_the_window_not_none(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture")]
    assert mlops_drift(*args, "--window-hours", "2", "--end", "2030-01-01T00:00:00Z") == 0
    out = capsys.readouterr().out
    assert "2029-12-31T22:00:00.000Z → 2030-01-01T00:00:00.000Z" in out and "None" not in out


@pytest.mark.parametrize(("fail_on", "code"), [(None, 0), ("alert", 1), ("warn", 1)])
def test_drift_found_exits_1_only_when_asked(
    workdir: Path, fail_on: str | None, code: int, capsys: pytest.CaptureFixture
) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--capture", str(workdir / "capture"), "--json"]
    assert mlops_drift(*args, *(["--fail-on", fail_on] if fail_on else [])) == code
    assert json.loads(capsys.readouterr().out)["status"] == "alert"


def test_no_data_and_a_healthy_window_exit_0_even_with_fail_on(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["--baseline", str(workdir / "baseline.json"), "--fail-on", "warn", "--json"]
    assert mlops_drift(*args, "--capture", str(small_capture(tmp_path, rows=50))) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "no_data"


def test_the_table_is_full_width_and_shows_names_literally_when_not_a_terminal(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    document = json.loads((workdir / "baseline.json").read_text())
    long_name = "a_feature_name_far_longer_than_any_terminal_column_would_allow_" * 2
    names = [long_name, "[bold]not markup[/]", *[f["name"] for f in document["features"][2:]]]
    document["features"] = [{**f, "name": name} for f, name in zip(document["features"], names, strict=True)]
    (tmp_path / "baseline.json").write_text(json.dumps(document))
    args = ["--baseline", str(tmp_path / "baseline.json"), "--capture", str(workdir / "capture")]
    assert mlops_drift(*args, "--endpoint", "[red]ep[/") == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if long_name in line)
    assert row.rstrip().endswith(("alert", "warn", "ok")) and len(row) > 200  # one line, nothing cut
    assert "[bold]not markup[/]" in out and "[red]ep[/" in out


# A pool of values each option may get: good ones, and the kinds of bad ones a user types.
option_values = st.one_of(
    st.sampled_from(["1", "24", "0.5", "200", "0", "-1", "nan", "inf", "1e400", "1_0", "\u0663", "", " 2", "x"]),
    st.sampled_from(["2026-11-26T11:00:00Z", "9999-12-31T23:59:59-05:00", "2026-11-26", "0001-01-01T00:00:00Z"]),
    st.text(max_size=8),
)
options = st.dictionaries(
    st.sampled_from(
        [
            "--window-hours",
            "--end",
            "--psi-warn",
            "--psi-alert",
            "--mean-shift-sd",
            "--min-rows",
            "--fail-on",
            "--model-id",
        ]
    ),
    option_values,
    max_size=4,
)


@given(options=options, baseline_bytes=st.binary(max_size=64) | st.sampled_from([b"", b"{}", b"\x1f\x8b\x08"]))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_input_gives_a_report_or_exit_2_with_one_line(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, options: dict[str, str], baseline_bytes: bytes
) -> None:
    capsys.readouterr()
    bad_baseline = tmp_path / "bad-baseline"
    bad_baseline.write_bytes(baseline_bytes)
    for baseline in (workdir / "baseline.json", bad_baseline):
        argv = ["--baseline", str(baseline), "--capture", str(workdir / "capture"), "--json"]
        argv += [item for flag, value in options.items() for item in (flag, value)]
        code = mlops_drift(*argv)
        captured = capsys.readouterr()
        assert code in (0, 1, 2), code
        if code == 2:
            assert captured.out == ""
            assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
            assert captured.err.startswith("mlops drift: error: ")
        else:
            assert json.loads(captured.out)["status"] in ("ok", "warn", "alert", "no_data")
            assert code == 0 or options.get("--fail-on") in ("warn", "alert")


capture_lines = st.one_of(
    st.binary(max_size=80),
    st.sampled_from(
        [
            b'{"ts":"9999-12-31T23:59:59-05:00","x":[1,2,3,4,5,6,7,8],"score":0.5}',
            b'{"ts":"2026-11-26T10:00:00Z","x":[1e400,2,3,4,5,6,7,8],"score":0.5}',
            b'{"ts":"2026-11-26T10:00:00Z","x":"abc","score":"0.5"}',
            b"[" * 3000,
            b"\xff\xfe\x00",
            b'{"ts":"2026-11-26T10:00:00Z","model_id":"other","x":[1,2,3,4,5,6,7,8],"score":0.5}',
        ]
    ),
)


@given(
    lines=st.lists(capture_lines, max_size=6), name=st.sampled_from(["a.jsonl", "*.jsonl", "x[1].jsonl", "é?.jsonl"])
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_capture_file_gives_a_report_or_exit_2_with_one_line(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, lines: list[bytes], name: str
) -> None:
    capsys.readouterr()
    capture = tmp_path / "capture"
    shutil.rmtree(capture, ignore_errors=True)
    capture.mkdir()
    data = b"\n".join(lines)
    (capture / name).write_bytes(data)
    code = mlops_drift("--baseline", str(workdir / "baseline.json"), "--capture", str(capture), "--json")
    captured = capsys.readouterr()
    if code == 2:
        assert captured.err.count("\n") == 1 and captured.err.startswith("mlops drift: error: "), captured.err
    else:
        assert code == 0 and "Traceback" not in captured.err
        report = json.loads(captured.out)
        physical_lines = data.count(b"\n") + data.count(b"\r") + 1
        assert report["rows"] + report["skipped_lines"] + report["other_model_rows"] <= physical_lines
