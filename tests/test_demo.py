"""`mlops demo` end to end: the report says what happened, and nothing is left running afterwards."""

from __future__ import annotations

import base64
import csv
import fcntl
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from rich.console import Console

from dataset import DRIFTED_FEATURES
from local import demo
from local.demo import (
    MALFORMED_KINDS,
    STEPS,
    WORKDIR_MARKER,
    DemoError,
    DemoOptions,
    DemoResult,
    PhaseTraffic,
    RequestOutcome,
    checks,
    evaluate_alarms,
    load_settings,
    pipeline,
    prepare_workdir,
    summarize_assembly,
    synthesized_training_run,
)
from local.demo.alarms import evaluate_periods
from local.demo.results import BAKE, RetrainResult
from mlops_core.pipeline_states import (
    DEPLOYMENT_SUCCESS_PATH,
    READ_APPROVAL,
    SIGNAL_SUCCESS,
    TRAINING_APPROVAL_PATH,
    TRAINING_SUCCESS_PATH,
)
from mlops_core.settings import Settings
from monitoring.alarm_rules import alarm_rules
from tests.processes import ProcessTree, interruptible

REPO = Path(__file__).resolve().parents[1]
DEMO_ROWS = "4000"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CDK_PREFIXES = ("aws_cdk", "jsii")
# Runs `mlops` as the console script does and, at exit, prints which aws_cdk/jsii modules it loaded.
MLOPS_REPORTING_CDK_MODULES = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('cdk modules loaded:', "
    f"sorted(m for m in sys.modules if m.startswith({CDK_PREFIXES!r})))); "
    "runpy.run_module('mlops_cli.main', run_name='__main__', alter_sys=True)"
)


class ReportTables(HTMLParser):
    """The report's tables by caption (rows of cell texts) and the sources of its images."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._caption or ""] = self._rows
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self._caption = (self._caption or "") + data
        elif self._cell is not None:
            self._cell.append(data)

    def rows(self, caption: str) -> list[dict[str, str]]:
        """Data rows of the table with this caption, keyed by header."""
        header, *body = self.tables[caption]
        return [dict(zip(header, row, strict=True)) for row in body]


def demo_process(workdir: Path, *extra: str, report_cdk_modules: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
    mlops = ["-c", MLOPS_REPORTING_CDK_MODULES] if report_cdk_modules else ["-m", "mlops_cli.main"]
    return subprocess.Popen(
        [sys.executable, *mlops, "demo", "--workdir", str(workdir), *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible,
    )


def port_is_closed(url: str) -> bool:
    parts = urlparse(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, object]:
    """One demo run into a workdir that an earlier run left behind (so the rerun path is exercised).

    Under pytest-xdist the workers share it: the first to take the lock runs the demo and records
    the outcome, the others read the record (two demos at once would only slow each other down).
    """
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    record = shared / "demo-run.json"
    with (shared / "demo-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            record.write_text(json.dumps(_run_demo(shared / "demo-run" / "out")), encoding="utf-8")
    run = json.loads(record.read_text(encoding="utf-8"))
    assert run["returncode"] == 0, run["output"]
    workdir = Path(run["workdir"])
    parser = ReportTables()
    parser.feed((workdir / "report.html").read_text(encoding="utf-8"))
    return {**run, "workdir": workdir, "report": parser, "summary": json.loads((workdir / "summary.json").read_text())}


def _run_demo(workdir: Path) -> dict[str, object]:
    workdir.mkdir(parents=True)
    (workdir / WORKDIR_MARKER).write_text("earlier run\n")
    (workdir / "stale-from-earlier-run.txt").write_text("old\n")
    started = time.monotonic()
    process = demo_process(workdir, "--rows", DEMO_ROWS, "--skip-synth", report_cdk_modules=True)
    tree = ProcessTree(process)
    output, _ = process.communicate(timeout=420)
    return {
        "workdir": str(workdir),
        "returncode": process.returncode,
        "output": output,
        "seconds": time.monotonic() - started,
        "leftovers": tree.leftovers(),
        "seen": tree.seen,
    }


@pytest.mark.slow
def test_demo_exits_zero_printing_the_report_path_and_clears_the_earlier_run(demo_run: dict) -> None:
    workdir: Path = demo_run["workdir"]
    assert f"Report: {workdir / 'report.html'}" in " ".join(demo_run["output"].split())
    assert not (workdir / "stale-from-earlier-run.txt").exists()
    for number in range(1, len(STEPS) + 1):
        assert f"[{number}/{len(STEPS)}]" in demo_run["output"]


@pytest.mark.slow
def test_report_names_the_drifted_features_as_drifted_and_nothing_else(demo_run: dict) -> None:
    report: ReportTables = demo_run["report"]
    per_phase = {row["phase"]: row for row in report.rows("Drift per phase")}
    assert per_phase["drifted"]["status"] == "alert"
    assert set(per_phase["drifted"]["features in alert"].split(", ")) == set(DRIFTED_FEATURES)
    assert per_phase["normal"]["status"] == "ok"
    assert per_phase["normal"]["features in alert"] == "none"
    detail = {row["feature"]: row["status"] for row in report.rows("Drift report of the drifted phase")}
    for feature, status in detail.items():
        if feature in DRIFTED_FEATURES:
            assert status == "alert", feature
        elif feature != "prediction_score":
            assert status == "ok", feature


@pytest.mark.slow
def test_drift_alarm_fires_on_drifted_traffic_and_4xx_alarm_on_the_bad_client_only(demo_run: dict) -> None:
    alarms = {row["alarm"]: row for row in demo_run["report"].rows("Alarm rules evaluated per phase")}
    assert set(alarms) == set(alarm_names(load_settings()))
    assert all(row["normal"].startswith("OK") for row in alarms.values())
    assert alarms["DriftAlarm"]["drifted"].startswith("ALARM")
    assert alarms["ClientErrorRateAlarm"]["bad client"].startswith("ALARM")
    fired = {(name, phase) for name, row in alarms.items() for phase in row if row[phase].startswith("ALARM")}
    assert fired == {("DriftAlarm", "drifted"), ("ClientErrorRateAlarm", "bad client")}


@pytest.mark.slow
def test_malformed_requests_are_answered_4xx_and_counted_as_client_errors(demo_run: dict) -> None:
    report: ReportTables = demo_run["report"]
    malformed = report.rows("Malformed requests of the bad client")
    assert {row["malformed request"] for row in malformed} == set(MALFORMED_KINDS)
    for row in malformed:
        assert all(400 <= int(status) < 500 for status in row["status"].split(", ")), row
    sent = sum(int(row["sent"]) for row in malformed)
    phases = {row["phase"]: row for row in report.rows("Requests per phase")}
    assert phases["bad client"]["4xx"].startswith(f"{sent} (")
    assert phases["normal"]["4xx"].startswith("0 ") and phases["drifted"]["4xx"].startswith("0 ")
    assert all(row["5xx"] == "0" for row in phases.values())
    with (demo_run["workdir"] / "requests.csv").open() as handle:
        requests = list(csv.DictReader(handle))
    assert sum(r["malformed"] == "True" for r in requests) == sent
    assert all(400 <= int(r["status"]) < 500 for r in requests if r["malformed"] == "True")
    assert all(r["status"] == "200" for r in requests if r["malformed"] == "False")


@pytest.mark.slow
def test_every_phase_captures_exactly_the_rows_of_its_answered_requests(demo_run: dict) -> None:
    report: ReportTables = demo_run["report"]
    sent = {row["phase"]: int(row["rows"].replace(",", "")) for row in report.rows("Requests per phase")}
    captured = {row["phase"]: int(row["captured rows"].replace(",", "")) for row in report.rows("Drift per phase")}
    # The bad client's malformed requests (one of them well-formed CSV refused for its Accept) add nothing.
    assert captured == sent
    assert set(sent) == {"normal", "drifted", "bad client"}


@pytest.mark.slow
def test_the_whole_demo_runs_without_loading_aws_cdk(demo_run: dict) -> None:
    assert "cdk modules loaded: []" in demo_run["output"]


def test_importing_the_demo_loads_no_aws_cdk() -> None:
    check = f"import local.demo, sys; assert not any(m.startswith({CDK_PREFIXES!r}) for m in sys.modules)"
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True, timeout=60)


@pytest.mark.slow
def test_each_fired_alarm_is_delivered_once_through_sns_to_the_queue(demo_run: dict) -> None:
    notifications = demo_run["report"].rows("Notifications delivered (SNS → SQS)")
    by_phase = {row["phase"]: row for row in notifications}
    assert len(notifications) == 2
    assert "DriftAlarm" in by_phase["drifted"]["subject"]
    assert all(feature in by_phase["drifted"]["reason"] for feature in DRIFTED_FEATURES)
    assert "ClientErrorRateAlarm" in by_phase["bad client"]["subject"]
    summary = demo_run["summary"]
    assert summary["notifications_published"] == summary["notifications_delivered"] == 2


@pytest.mark.slow
def test_report_is_self_contained_with_embedded_figures(demo_run: dict) -> None:
    images = demo_run["report"].images
    assert len(images) >= 5
    for source in images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.partition(",")[2])[:8] == PNG_SIGNATURE
    html = (demo_run["workdir"] / "report.html").read_text(encoding="utf-8")
    assert 'src="http' not in html and 'href="http' not in html


@pytest.mark.slow
def test_no_process_or_port_outlives_the_demo(demo_run: dict) -> None:
    # Two model containers ran: version 1's, and version 2's after the update.
    assert sum("image_serving" in command for command in demo_run["seen"].values()) >= 2
    assert demo_run["leftovers"] == {}
    summary = demo_run["summary"]
    assert port_is_closed(summary["moto_endpoint_url"])
    assert port_is_closed(summary["local_endpoint_url"])
    assert port_is_closed(summary["retrain"]["local_endpoint_url"])


@pytest.mark.slow
def test_the_demo_runs_each_pipelines_states_in_the_order_of_its_success_path(demo_run: dict) -> None:
    steps = demo_run["summary"]["pipeline_steps"]
    training = [s["state"] for s in steps if s["pipeline"] == "training"]
    deployment = [s["state"] for s in steps if s["pipeline"] == "deployment"]
    manual = load_settings().approval_mode == "manual"
    assert training == list(TRAINING_APPROVAL_PATH if manual else TRAINING_SUCCESS_PATH)
    assert deployment == list(DEPLOYMENT_SUCCESS_PATH)
    # Only the CloudFormation signal has nothing to do locally; the demo says so instead of running it.
    assert {s["state"] for s in steps if not s["ran"]} == {SIGNAL_SUCCESS}
    assert all(s["outcome"] for s in steps)


@pytest.mark.slow
def test_version_2_serves_after_the_retrain_phase_and_the_drift_alert_is_gone(demo_run: dict) -> None:
    retrain = demo_run["summary"]["retrain"]
    assert retrain["serving_version"] == 2
    assert retrain["new_data_rule_matched"] == 1 and retrain["labelled_keys"][-1] == "labelled/_ready"
    assert retrain["approval_rule_matched"].get("Approved") == 1
    assert retrain["plan"]["action"] == "update" and retrain["plan"]["target_version"] == 2
    assert retrain["plan"]["previous_config"] == retrain["kept_config"]
    assert retrain["update_requests"] > 0 and retrain["update_requests_answered"] == retrain["update_requests"]
    assert retrain["verdict"]["passed"] is True
    assert retrain["drift_status_by_baseline"] == {"1": "alert", "2": "ok"}
    assert retrain["drift_alarm_after"] == "OK"
    v1, v2 = retrain["versions"]["1"], retrain["versions"]["2"]
    assert v1["job_name"] != v2["job_name"]
    # Version 2's validation split is the fresh labelled validation set: its endpoint scores it as training did.
    assert v2["fresh_auc"] == pytest.approx(v2["validation_auc"], abs=1e-6)
    assert 0.5 < v1["fresh_auc"] < 1.0
    expectations = {row["check"]: row for row in demo_run["report"].rows("Expectations")}
    for check in ("Version 2 serves", "Drift alert gone after retraining", "Requests during the blue/green update"):
        assert expectations[check][""] == "✓", expectations[check]
    side_by_side = {row[""]: row for row in demo_run["report"].rows("Versions side by side")}
    assert side_by_side["AUC on the fresh labelled validation set"]["version 2"] == f"{v2['fresh_auc']:.4f}"
    assert side_by_side["bake traffic's drift against its baseline"]["version 1"].startswith("alert")
    assert side_by_side["bake traffic's drift against its baseline"]["version 2"].startswith("ok")
    assert side_by_side["serves"]["version 2"] == "yes"


@pytest.mark.slow
def test_ctrl_c_in_the_traffic_step_stops_the_endpoint_and_exits_130(tmp_path: Path) -> None:
    process = demo_process(tmp_path / "out", "--rows", DEMO_ROWS, "--skip-synth")
    tree = ProcessTree(process)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if f"[4/{len(STEPS)}]" in line:
            break
    deadline = time.monotonic() + 30
    while not any("image_serving" in c for c in tree.seen.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    output = "".join(lines) + rest
    assert process.returncode == 130, output
    assert f"interrupted during step 4/{len(STEPS)} (traffic)" in output
    assert any("image_serving" in command for command in tree.seen.values())
    assert tree.leftovers() == {}


@pytest.mark.slow
def test_in_manual_approval_mode_version_2_waits_for_a_person_and_deploys_once_approved(tmp_path: Path) -> None:
    workdir = tmp_path / "manual"
    process = demo_process(workdir, "--rows", "1000", "--skip-synth", "-c", "approval_mode=manual")
    tree = ProcessTree(process)
    output, _ = process.communicate(timeout=420)
    assert process.returncode == 0, output
    assert tree.leftovers() == {}
    summary = json.loads((workdir / "summary.json").read_text())
    training = [s["state"] for s in summary["pipeline_steps"] if s["pipeline"] == "training"]
    assert training == list(TRAINING_APPROVAL_PATH)
    # Registered pending: the approval rule ignores it; the approval through `mlops approve`'s code starts the rollout.
    assert summary["retrain"]["approval_rule_matched"] == {"PendingManualApproval": 0, "Approved": 1}
    decided = next(s for s in summary["pipeline_steps"] if s["state"] == READ_APPROVAL)
    assert decided["outcome"].startswith("Approved: approved in the demo with `mlops approve 2`")
    assert summary["retrain"]["serving_version"] == 2


def test_a_bad_setting_on_the_command_line_is_refused_before_anything_runs(tmp_path: Path) -> None:
    out = io.StringIO()
    options = DemoOptions(tmp_path / "out", rows=1000, context={"approval_mode": "sometimes"})
    assert demo.run(options, Console(file=out, width=300)) == 2
    assert "approval_mode" in out.getvalue() and "sometimes" in out.getvalue()
    assert not (tmp_path / "out").exists()


def test_workdir_not_made_by_the_demo_is_never_cleared(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me\n")
    with pytest.raises(DemoError, match="not made by `mlops demo`"):
        prepare_workdir(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me\n"


def test_workdir_of_an_earlier_demo_is_cleared_and_marked_again(tmp_path: Path) -> None:
    workdir = prepare_workdir(tmp_path / "demo")
    (workdir / "capture").mkdir()
    (workdir / "capture" / "old.jsonl").write_text("{}\n")
    assert prepare_workdir(tmp_path / "demo") == workdir
    assert sorted(p.name for p in workdir.iterdir()) == [WORKDIR_MARKER, "logs"]


def alarm_names(settings: Settings) -> dict[str, str]:
    return {rule.id: settings.name(rule.id) for rule in alarm_rules(settings)}


def _phase(name: str, latency_us: float, statuses: list[int]) -> PhaseTraffic:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    traffic = PhaseTraffic(name, start, start + timedelta(seconds=1))
    for status in statuses:
        traffic.requests.append(
            RequestOutcome(name, "1 row", "text/csv", "application/json", 1, status >= 400, status, latency_us, "")
        )
    return traffic


def test_latency_alarm_needs_two_breaching_periods_in_a_row_and_notifies_once() -> None:
    settings = load_settings()
    slow = settings.latency_threshold_us * 2
    result = DemoResult(Path("unused"), settings, 1000, datetime.now(UTC))
    result.phases = [_phase("normal", slow, [200]), _phase("drifted", slow, [200]), _phase("bad-client", slow, [200])]
    latency = [e for e in evaluate_alarms(settings, result, alarm_names(settings)) if e.rule.id == "LatencyAlarm"]
    assert [e.breached for e in latency] == [True, True, True]
    assert [e.state for e in latency] == ["OK", "ALARM", "ALARM"]
    assert [e.notified for e in latency] == [False, True, False]


def test_the_bake_carries_no_cold_start_because_version_1_answered_while_version_2_started() -> None:
    settings = load_settings()
    result = DemoResult(Path("unused"), settings, 1000, datetime.now(UTC))
    result.phases = [_phase("normal", 1000.0, [200])]
    result.setup_time_us = settings.cold_start_threshold_us * 2.0
    result.retrain = RetrainResult(setup_time_us=settings.cold_start_threshold_us * 2.0)
    cold = [rule for rule in alarm_rules(settings) if rule.id == "ColdStartAlarm"]
    normal, bake = evaluate_periods(cold, result, [*result.phases, _phase(BAKE, 1000.0, [200])], alarm_names(settings))
    assert (normal.state, normal.datapoints) == ("ALARM", 1)  # the first requests waited for version 1
    assert (bake.state, bake.datapoints) == ("OK", 0)


def test_a_guard_alarm_carries_its_periods_into_the_bake() -> None:
    settings = load_settings()
    slow = settings.latency_threshold_us * 2
    result = DemoResult(Path("unused"), settings, 1000, datetime.now(UTC))
    result.phases = [_phase("normal", 1000.0, [200]), _phase("bad-client", slow, [200])]
    result.retrain = RetrainResult()
    latency = [rule for rule in alarm_rules(settings) if rule.id == "LatencyAlarm"]
    states = [
        e.state
        for e in evaluate_periods(latency, result, [*result.phases, _phase(BAKE, slow, [200])], alarm_names(settings))
    ]
    assert states == ["OK", "OK", "ALARM"]  # two slow periods in a row: the bad client's and the bake's


def test_client_error_rate_alarm_fires_above_the_threshold_not_at_it() -> None:
    settings = load_settings()
    result = DemoResult(Path("unused"), settings, 1000, datetime.now(UTC))
    # 5 % exactly does not breach (GreaterThanThreshold); 6 % does.
    result.phases = [
        _phase("normal", 1000.0, [400] * 5 + [200] * 95),
        _phase("drifted", 1000.0, [400] * 6 + [200] * 94),
    ]
    evaluations = evaluate_alarms(settings, result, alarm_names(settings))
    client = [e for e in evaluations if e.rule.id == "ClientErrorRateAlarm"]
    assert [e.state for e in client] == ["OK", "ALARM"]
    assert client[0].value == pytest.approx(0.05)


@pytest.mark.slow
def test_synth_summary_counts_resources_and_cdk_nag_acknowledgments(
    cli_synthesized: tuple[Path, dict[str, dict]],
) -> None:
    outdir, templates = cli_synthesized
    stacks = {s.name: s for s in summarize_assembly(outdir)}
    assert set(stacks) == set(templates)
    for name, template in templates.items():
        assert stacks[name].resources == len(template["Resources"])
    # Every stack has findings acknowledged with a reason (nag_acknowledgments.ACCEPTED), and synth passed.
    assert all(s.acknowledged_findings > 0 for s in stacks.values())
    assert all(s.nag_status.startswith("passed") for s in stacks.values())
    (registry,) = [t for name, t in templates.items() if name.endswith("-registry")]
    (run,) = [r for r in registry["Resources"].values() if r["Type"] == "Custom::PipelineRun"]
    assert synthesized_training_run(outdir) == run["Properties"]["RunId"]


def test_a_failing_step_exits_1_and_names_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_training(*args: object) -> None:
        raise RuntimeError("xgboost ran out of trees")

    monkeypatch.setattr(pipeline, "train_model", broken_training)
    out = io.StringIO()
    code = demo.run(DemoOptions(tmp_path / "out", rows=1000, skip_synth=True), Console(file=out, width=200))
    assert code == 1
    assert f"step 2/{len(STEPS)} (train: " in out.getvalue()
    assert "xgboost ran out of trees" in out.getvalue()
    assert "RuntimeError: xgboost ran out of trees" in (tmp_path / "out" / "logs" / "demo-error.log").read_text()


def test_rows_outside_the_settings_range_are_refused_before_anything_runs(tmp_path: Path) -> None:
    out = io.StringIO()
    code = demo.run(DemoOptions(tmp_path / "out", rows=10), Console(file=out, width=200))
    assert code == 2
    assert "--rows must be between 1000 and 1000000, got 10" in out.getvalue()
    assert not (tmp_path / "out").exists()


def test_a_missed_expectation_names_the_step_that_produced_it() -> None:
    settings = load_settings()
    result = DemoResult(Path("unused"), settings, 1000, datetime.now(UTC))
    result.phases = [_phase("normal", 1000.0, [200] * 10), _phase("bad-client", 1000.0, [200] * 10)]
    result.alarms = evaluate_alarms(settings, result, alarm_names(settings))
    failed = {check.what: check.step for check in checks(result) if not check.passed}
    assert failed["Drifted traffic"] == "alarms"
    assert failed["Bad client"] == "alarms"
    assert failed["Features in drift alert (drifted phase)"] == "drift"
    assert "Normal traffic" not in failed


def test_a_set_data_path_is_named_and_the_demo_says_it_trains_on_synthetic_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_core.settings import Settings

    def stop_after_the_notice(*args: object) -> None:
        raise RuntimeError("stopped after the notice")

    monkeypatch.setattr(pipeline, "load_settings", lambda overrides: Settings(data_path="customers.csv"))
    monkeypatch.setattr(pipeline, "train_model", stop_after_the_notice)
    out = io.StringIO()
    demo.run(DemoOptions(tmp_path / "out", rows=1000, skip_synth=True), Console(file=out, width=300))
    assert "note: data_path is set (customers.csv), but the demo trains on synthetic data" in out.getvalue()
