"""report.html: what the demo showed, one self-contained page (figures embedded as PNG).

Built on `monitoring.tools.html_report`. Everything here reads a finished `DemoResult`; nothing is
measured again except the validation ROC curve, which scores the validation split with the
trained booster. The sections on the traffic are in `report_traffic`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.demo.checks import checks
from local.demo.figures import training_figure
from local.demo.report_retrain import retrain_section
from local.demo.report_traffic import alarms_section, drift_section, traffic_section
from local.demo.results import DemoResult, TrainedModel
from local.demo.steps import STEPS
from monitoring.tools.html_report import Card, Cell, HtmlReport


def write_report(result: DemoResult, path: Path) -> Path:
    """Write report.html: summary, checks, infrastructure, training, traffic, drift and alarms."""
    settings = result.settings
    trained = result.trained
    report = HtmlReport(
        "MLOps pipeline demo",
        subtitle=f"Endpoint {settings.endpoint_name} · model {trained.job_name if trained else '-'} · "
        f"{result.rows:,} training rows · run started {result.started:%Y-%m-%d %H:%M:%S} UTC",
    )
    report.add_cards(_cards(result))
    all_checks = checks(result)
    report.add_heading("What the demo showed")
    failed = [c for c in all_checks if not c.passed]
    if failed:
        report.add_paragraph(f"{len(failed)} of {len(all_checks)} expectations were not met.", status="alert")
    else:
        report.add_paragraph(f"All {len(all_checks)} expectations were met.", status="ok")
    report.add_table(
        ["check", "expected", "observed", ""],
        [
            [c.what, c.expected, c.observed, Cell("✓" if c.passed else "✗", "ok" if c.passed else "alert")]
            for c in all_checks
        ],
        caption="Expectations",
    )
    report.add_paragraph(
        "Every step ran the project's own code: the CDK app and cdk-nag, model_code/train.py in a SageMaker-shaped "
        "working tree, the pipeline's registration functions and the drift job's baseline lookup against moto's "
        "AWS APIs on 127.0.0.1, model_code/inference.py behind the local endpoint, called with boto3's "
        "sagemaker-runtime client, DuckDB over the captured records, the alarm rules the CloudWatch alarms are "
        "built from, and for the retrain phase the event patterns of the pipeline triggers and the deployment "
        "Lambda's rollout code (plan, model and config, bake verdict)."
    )
    _steps_section(report, result)
    _infrastructure_section(report, result)
    if trained is not None:
        _training_section(report, result, trained)
    if result.phases:
        traffic_section(report, result)
    if result.drift:
        drift_section(report, result)
    if result.alarms:
        alarms_section(report, result)
    if result.retrain is not None:
        retrain_section(report, result, result.retrain)
    _files_section(report, result)
    return report.write(path)


def _cards(result: DemoResult) -> list[Card]:
    cards = []
    if result.trained is not None:
        auc = result.trained.evaluation["validation"]["auc"]
        decision = result.trained.decision
        cards.append(
            Card(
                "Validation AUC",
                f"{auc:.3f}",
                f"gate ≥ {result.settings.min_validation_auc:.2f}: {decision.status}",
                "ok" if decision.approved else "alert",
            )
        )
    requests = [r for p in result.phases for r in p.requests]
    if requests:
        rows = sum(p.rows for p in result.phases)
        cards.append(Card("Requests", f"{len(requests):,}", f"{rows:,} rows in 3 phases", "info"))
        errors = sum(r.client_error for r in requests)
        cards.append(Card("Client errors (4xx)", f"{errors}", f"{sum(r.server_error for r in requests)} server errors"))
    drifted = result.drift.get("drifted")
    if drifted is not None:
        worst = drifted.report.get("worst") or {}
        cards.append(
            Card(
                "Drifted features",
                str(len(drifted.alerted_features)),
                f"worst {worst.get('name')} (PSI {worst.get('psi', 0):.2f})",
                "alert" if drifted.alerted_features else "ok",
            )
        )
    if result.alarms:
        cards.append(
            Card(
                "Alarms fired",
                str(len(result.fired)),
                ", ".join(a.rule.id for a in result.fired) or "none",
                "alert" if result.fired else "ok",
            )
        )
        cards.append(
            Card(
                "Notifications",
                f"{len(result.notifications)} / {result.published}",
                "delivered via SNS → SQS",
                "ok" if len(result.notifications) == result.published else "alert",
            )
        )
    retrained = result.retrain
    if retrained is not None and retrained.serving_version:
        v2 = retrained.drift.get(retrained.serving_version)
        cards.append(
            Card(
                "Serving after retraining",
                f"version {retrained.serving_version}",
                f"drift {v2.report['status'] if v2 else '-'} against its baseline",
                "ok" if v2 is not None and v2.report["status"] != "alert" else "alert",
            )
        )
    seconds = sum(t.seconds for t in result.timings)
    cards.append(Card("Run time", f"{seconds:.0f} s", f"{len(result.timings)} steps before the report", "muted"))
    return cards


def _steps_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Pipeline steps")
    rows: list[list[Any]] = [[f"{t.number}. {t.title}", round(t.seconds, 1), t.outcome] for t in result.timings]
    rows.append([f"{len(STEPS)}. Write the report", None, result.report_path.name])
    report.add_table(["step", "seconds", "outcome"], rows, caption="Steps")


def _infrastructure_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Infrastructure: the stacks `make deploy` would create")
    if result.stacks is None:
        report.add_paragraph("Synthesis was skipped (--skip-synth).", status="muted")
        return
    rows = [[s.name, s.resources, Cell(s.nag_status, "ok")] for s in result.stacks]
    report.add_table(["stack", "resources", "cdk-nag (AwsSolutions)"], rows, caption="Synthesized stacks")
    report.add_paragraph(
        "Synthesized with the pinned CDK CLI (template validation on); cdk-nag runs inside synth, and any finding "
        "that is not acknowledged with a reason in mlops_stacks/nag_acknowledgments.py stops it."
    )


def _training_section(report: HtmlReport, result: DemoResult, trained: TrainedModel) -> None:
    evaluation = trained.evaluation
    validation = evaluation["validation"]
    report.add_heading("Training and quality gate")
    report.add_table(
        ["metric", "value"],
        [
            ["validation AUC", round(validation["auc"], 4)],
            ["validation accuracy", round(validation["accuracy"], 4)],
            ["validation log loss", round(validation["log_loss"], 4)],
            ["validation F1", round(validation["f1"], 4)],
            ["best iteration", evaluation.get("best_iteration")],
            ["training rows", evaluation.get("n_train")],
            ["validation rows", evaluation.get("n_validation")],
            [
                "quality gate",
                Cell(
                    f"{trained.decision.status}: {trained.decision.reason}",
                    "ok" if trained.decision.approved else "alert",
                ),
            ],
        ],
        caption="Training metrics",
    )
    figure = training_figure(trained, result.settings.min_validation_auc)
    if figure is not None:
        report.add_figure(figure, caption="Validation split: ROC curve and the score distribution per true label.")
    registration = result.registration
    if registration is not None:
        package = registration.package
        report.add_table(
            ["registry item", "value"],
            [
                ["model package", registration.package_arn],
                ["approval", Cell(str(package.get("ModelApprovalStatus")), "ok")],
                ["training job", trained.job_name],
                ["training run", Cell(*_training_run_text(result, trained))],
                ["artifact", registration.model_data_url],
                ["evaluation", registration.evaluation_uri],
                ["drift baseline", registration.baseline_uri],
                ["AWS APIs", f"moto server at {registration.endpoint_url} (account {registration.account})"],
            ],
            caption="Registration",
        )


def _training_run_text(result: DemoResult, trained: TrainedModel) -> tuple[str, str | None]:
    """The run id, and whether the synthesized registry stack starts the same run (same data, code, settings)."""
    synthesized = result.synthesized_training_run
    if synthesized is None:
        return trained.run_id, None
    if synthesized == trained.run_id:
        return f"{trained.run_id} (the run `make deploy` would start: same data, code and settings)", "ok"
    return f"{trained.run_id} (`make deploy` would start run {synthesized}: its data differs from the demo's)", "muted"


def _files_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Files")
    entries = {
        "report.html": "this report",
        "summary.json": "the outcome, machine-readable",
        "requests.csv": "every request: phase, kind, status, latency",
        "drift/": "the drift report of each phase (docs/contracts.md)",
        f"capture/{result.settings.endpoint_name}/": "captured records in the S3 layout",
        "model/model.tar.gz": "the trained artifact",
        "endpoint/model.tar.gz": "the approved version's artifact as the endpoint fetched it from the registry",
        "data/": "training data and schema",
        "labelled/": "the fresh labelled data (drifted distribution) the retrain phase uploads",
        "model-v2/model.tar.gz": "version 2's artifact",
        "endpoint-v2/model.tar.gz": "version 2's artifact as its endpoint fetched it",
        "cdk.out/": "the synthesized cloud assembly",
        "logs/": "synth, training and endpoint logs",
    }
    written_after_this = ("report.html", "summary.json")
    rows = [
        [name, text] for name, text in entries.items() if (result.workdir / name).exists() or name in written_after_this
    ]
    report.add_table(["path (under the workdir)", "holds"], rows, caption=f"Files in {result.workdir}")
