"""The local drift path: capture files → DuckDB → report, through `mlops drift`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops_cli.monitoring_verbs import register
from mlops_stacks.settings import Settings
from monitoring import synthetic_drift as sd
from monitoring.baseline import parse_baseline
from monitoring.capture import capture_objects, write_capture_objects
from monitoring.drift_engine_local import capture_files, run_local_drift
from monitoring.drift_query import TimeWindow
from monitoring.drift_stats import DriftThresholds

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
REPORT_KEYS = {"endpoint", "window", "rows", "status", "features", "score", "worst", "skipped_lines"}


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
    parser = argparse.ArgumentParser(prog="mlops")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(["drift", *argv])
    return args.run(args)


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
        (["--capture", ".", "--window-hours", "0"], "--window-hours must be positive"),
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
