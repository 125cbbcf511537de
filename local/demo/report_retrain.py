"""The report's section on the retrain phase: both versions side by side, the update, the bake, the pipeline states."""

from __future__ import annotations

import numpy as np

from local.demo.alarms import format_metric
from local.demo.report_traffic import STATUS_OF_DRIFT
from local.demo.results import CANDIDATE_VERSION, DemoResult, ModelVersion, PhaseDrift, RetrainResult
from monitoring import metrics as m
from monitoring.tools.html_report import Cell, HtmlReport


def retrain_section(report: HtmlReport, result: DemoResult, retrained: RetrainResult) -> None:
    """Version 1 and version 2 side by side, then how version 2 reached traffic, state by state."""
    report.add_heading("Retraining: version 1 and version 2 side by side")
    versions = [retrained.versions.get(1), retrained.versions.get(CANDIDATE_VERSION)]
    if None in versions:
        report.add_paragraph("The retrain phase did not register version 2.", status="alert")
        return
    v1, v2 = versions
    assert v1 is not None and v2 is not None
    prefix = result.settings.labelled_data_prefix
    rows = [
        ["training job", v1.job_name, v2.job_name],
        ["trained on", "the original data (data/)", f"fresh labelled data, drifted distribution ({prefix}/)"],
        ["training rows", f"{v1.training_rows:,}", f"{v2.training_rows:,}"],
        ["validation AUC (own validation split)", f"{v1.validation_auc:.4f}", f"{v2.validation_auc:.4f}"],
        ["AUC on the fresh labelled validation set", _auc(v1), _auc(v2)],
        ["bake traffic's drift against its baseline", *(_drift(retrained.drift.get(v.version)) for v in (v1, v2))],
        [
            "start to /ping",
            f"{_seconds(result.setup_time_us)} (the first requests waited: a cold start)",
            f"{_seconds(retrained.setup_time_us)} (during the update: version 1 answered meanwhile)",
        ],
        [
            "serves",
            Cell(f"stopped; its config {retrained.kept_config} kept for a revert", "muted"),
            Cell(
                "yes" if retrained.serving_version == v2.version else "no", _ok(retrained.serving_version == v2.version)
            ),
        ],
    ]
    report.add_table(["", "version 1", "version 2"], rows, caption="Versions side by side")
    report.add_paragraph(
        "The AUC on the fresh labelled validation set is measured through each version's endpoint with the "
        "sagemaker-runtime client (version 1 before the update, version 2 after it). Drift compares the bake's "
        "traffic, all answered by version 2, with each version's training baseline: against version 1's the "
        "drifted features are in alert, against version 2's they are what it was trained on."
    )
    _update_and_bake(report, retrained)
    _pipeline_steps(report, result)


def _update_and_bake(report: HtmlReport, retrained: RetrainResult) -> None:
    update, bake, verdict = retrained.update_requests, retrained.bake, retrained.verdict
    plan = retrained.plan
    rows: list[list[object]] = []
    if plan is not None:
        rows.append(["plan", plan.reason])
    answered = sum(r.status == 200 for r in update)
    rows.append(
        [
            "requests while version 2 started",
            Cell(f"{answered} of {len(update)} answered by version 1", _ok(answered == len(update))),
        ]
    )
    if bake is not None and bake.requests:
        latencies = np.array([r.latency_us for r in bake.requests]) / m.MICROSECONDS_PER_MS
        errors = sum(r.client_error or r.server_error for r in bake.requests)
        rows.append(["bake traffic", f"{len(bake.requests)} requests, {bake.rows:,} rows, {errors} errors"])
        rows.append(
            ["bake latency", f"p50 {np.percentile(latencies, 50):.1f} ms, p95 {np.percentile(latencies, 95):.1f} ms"]
        )
    for evaluation in retrained.bake_alarms:
        value = format_metric(evaluation.rule.metric_name, evaluation.value)
        rows.append(
            [
                evaluation.rule.id,
                Cell(f"{evaluation.state} ({value})", "alert" if evaluation.state == "ALARM" else "ok"),
            ]
        )
    if verdict is not None:
        rows.append(["verdict (rollout.bake_verdict)", Cell(verdict.reason, _ok(verdict.passed))])
    rows.append(
        [
            "DriftAlarm after the rollout",
            Cell(retrained.drift_alarm_after or "-", _ok(retrained.drift_alarm_after == "OK")),
        ]
    )
    for notice in retrained.deployed_notices:
        rows.append(["notification (SNS → SQS)", notice])
    report.add_table(["", "value"], rows, caption="Blue/green update and bake of version 2")


def _pipeline_steps(report: HtmlReport, result: DemoResult) -> None:
    rows = [
        [step.pipeline, step.state, Cell(step.outcome, None if step.ran else "muted")] for step in result.pipeline_steps
    ]
    report.add_table(["pipeline", "state", "what the demo did"], rows, caption="Pipeline states, in the order run")
    report.add_paragraph(
        "The states of each pipeline's success path (mlops_core.pipeline_states), in the order the cloud runs them. "
        "The demo cannot run the state machine definitions themselves: moto's Step Functions executor refuses the "
        "training job's .sync integration, its Lambda tasks need Docker, and moto has no UpdateEndpoint. It runs the "
        "code each state runs in the cloud instead; the trigger and approval rules are moto's EventBridge matching "
        "the project's own patterns."
    )


def _auc(version: ModelVersion) -> str:
    return f"{version.fresh_auc:.4f}" if version.fresh_auc is not None else "-"


def _drift(drift: PhaseDrift | None) -> Cell:
    if drift is None:
        return Cell("-", "muted")
    worst = drift.report.get("worst") or {}
    status = drift.report["status"]
    detail = f"worst {worst.get('name')} PSI {worst.get('psi', 0):.2f}" if worst else "no data"
    alerted = f"; in alert: {', '.join(drift.alerted_features)}" if drift.alerted_features else ""
    return Cell(f"{status} ({detail}{alerted})", STATUS_OF_DRIFT.get(status, "muted"))


def _seconds(microseconds: float | None) -> str:
    return f"{microseconds / 1e6:.1f} s" if microseconds is not None else "-"


def _ok(passed: bool) -> str:
    return "ok" if passed else "alert"
