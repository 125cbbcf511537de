"""What the demo shows: the report's figures and tables (report.html) and the terminal summary.

Built on `monitoring.html_report` (one self-contained file, figures as embedded PNG). Everything
here reads a finished `DemoResult`; nothing is measured again except the validation ROC curve,
which scores the validation split with the trained booster.
"""

from __future__ import annotations

import io
import math
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, and the same pixels everywhere

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from local.demo import PHASE_TITLES, DemoResult, PhaseTraffic, format_metric
from monitoring import metrics as m
from monitoring.html_report import Card, Cell, HtmlReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from rich.console import Console

    from local.demo import TrainedModel
    from monitoring.baseline import BinnedDistribution

PHASE_COLORS = {"normal": "#0969da", "drifted": "#cf222e", "bad-client": "#bf8700"}
BASELINE_COLOR = "#8c959f"
WARN_COLOR, ALERT_COLOR = "#bf8700", "#cf222e"
PSI_FLOOR = 1e-3  # the PSI axis starts here (log scale)
OVERLAY_FEATURES = 4  # distribution overlays for this many of the most drifted features
STATUS_OF_DRIFT = {"ok": "ok", "warn": "warn", "alert": "alert", "no_data": "muted"}

plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "legend.frameon": False,
    }
)


@dataclass(frozen=True)
class Check:
    """One expectation of the demo and what was observed."""

    what: str
    expected: str
    observed: str
    passed: bool
    step: str  # the demo step whose outcome this is


def checks(result: DemoResult) -> list[Check]:
    """What the demo is expected to show, next to what it showed."""
    from dataset import DRIFTED_FEATURES

    fired = {name: sorted(a.rule.id for a in result.fired if a.phase == name) for name in PHASE_TITLES}
    drifted = result.drift.get("drifted")
    alerted = drifted.alerted_features if drifted else []
    requests = [r for p in result.phases for r in p.requests]
    malformed = [r for r in requests if r.malformed]
    client_errors = [r for r in requests if r.client_error]
    return [
        Check("Normal traffic", "no alarm", ", ".join(fired["normal"]) or "no alarm", not fired["normal"], "alarms"),
        Check(
            "Drifted traffic",
            "DriftAlarm",
            ", ".join(fired["drifted"]) or "no alarm",
            "DriftAlarm" in fired["drifted"],
            "alarms",
        ),
        Check(
            "Features in drift alert (drifted phase)",
            ", ".join(sorted(DRIFTED_FEATURES)),
            ", ".join(sorted(alerted)) or "none",
            set(alerted) == set(DRIFTED_FEATURES),
            "drift",
        ),
        Check(
            "Bad client",
            "ClientErrorRateAlarm",
            ", ".join(fired["bad-client"]) or "no alarm",
            "ClientErrorRateAlarm" in fired["bad-client"],
            "alarms",
        ),
        Check(
            "Malformed requests",
            f"{len(malformed)} answered 4xx",
            f"{sum(r.client_error for r in malformed)} answered 4xx; {len(client_errors)} 4xx in all",
            all(r.client_error for r in malformed) and len(client_errors) == len(malformed),
            "traffic",
        ),
        Check(
            "Server errors",
            "none",
            f"{sum(r.server_error for r in requests)} 5xx",
            not any(r.server_error for r in requests),
            "traffic",
        ),
        Check(
            "Notifications (SNS → SQS)",
            f"{len(result.fired)} delivered",
            f"{len(result.notifications)} of {result.published} delivered",
            len(result.notifications) == result.published == len(result.fired),
            "alarms",
        ),
    ]


# --- the HTML report ----------------------------------------------------------------------------


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
        "working tree, the TrainingRun's registration functions and the drift job's baseline lookup against moto's "
        "AWS APIs on 127.0.0.1, model_code/inference.py behind the local endpoint, called with boto3's "
        "sagemaker-runtime client, DuckDB over the captured records, and the alarm rules the CloudWatch alarms are "
        "built from."
    )
    _steps_section(report, result)
    _infrastructure_section(report, result)
    if trained is not None:
        _training_section(report, result, trained)
    if result.phases:
        _traffic_section(report, result)
    if result.drift:
        _drift_section(report, result)
    if result.alarms:
        _alarms_section(report, result)
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
    seconds = sum(t.seconds for t in result.timings)
    cards.append(Card("Run time", f"{seconds:.0f} s", f"{len(result.timings)} steps before the report", "muted"))
    return cards


def _steps_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Pipeline steps")
    rows: list[list[Any]] = [[f"{t.number}. {t.title}", round(t.seconds, 1), t.outcome] for t in result.timings]
    rows.append(["7. Write the report", None, result.report_path.name])
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
                ["training job", Cell(*_job_name_text(result, trained))],
                ["artifact", registration.model_data_url],
                ["evaluation", registration.evaluation_uri],
                ["drift baseline", registration.baseline_uri],
                ["AWS APIs", f"moto server at {registration.endpoint_url} (account {registration.account})"],
            ],
            caption="Registration",
        )


def _job_name_text(result: DemoResult, trained: TrainedModel) -> tuple[str, str | None]:
    """The job name, and whether the synthesized TrainingRun names the same job (same data, code, settings)."""
    synthesized = result.synthesized_job_name
    if synthesized is None:
        return trained.job_name, None
    if synthesized == trained.job_name:
        return f"{trained.job_name} (the job `make deploy` would start: same data, code and settings)", "ok"
    return f"{trained.job_name} (`make deploy` would start {synthesized}: its data differs from the demo's)", "muted"


def _traffic_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Traffic through the local endpoint")
    rows = []
    for traffic in result.phases:
        latencies = np.array([r.latency_us for r in traffic.requests]) / m.MICROSECONDS_PER_MS
        singles = sum(r.kind == "1 row" for r in traffic.requests)
        batches = sum(r.kind == "batch" for r in traffic.requests)
        malformed = sum(r.malformed for r in traffic.requests)
        client = sum(r.client_error for r in traffic.requests)
        server = sum(r.server_error for r in traffic.requests)
        rows.append(
            [
                traffic.title,
                len(traffic.requests),
                traffic.rows,
                f"{singles} / {batches} / {malformed}",
                Cell(f"{client} ({100 * client / len(traffic.requests):.1f} %)", "alert" if client else "ok"),
                Cell(str(server), "alert" if server else "ok"),
                f"{np.percentile(latencies, 50):.1f}",
                f"{np.percentile(latencies, 95):.1f}",
                f"{latencies.max():.1f}",
            ]
        )
    report.add_table(
        ["phase", "requests", "rows", "1-row / batch / malformed", "4xx", "5xx", "p50 ms", "p95 ms", "max ms"],
        rows,
        caption="Requests per phase",
    )
    cold = result.setup_time_us
    setup = f" The endpoint answered /ping {cold / 1e6:.2f} s after it was started (its cold start)." if cold else ""
    report.add_paragraph(
        "One client, one request at a time (serverless max concurrency "
        f"{result.settings.serverless_max_concurrency}); half the bodies CSV, half JSON; batches of up to 100 rows. "
        "Latency is measured at the client, so it includes HTTP and boto3, an upper bound of ModelLatency." + setup
    )
    report.add_figure(latency_figure(result.phases), caption="Latency per request (log scale), by kind and phase.")
    threshold = result.settings.error_rate_threshold
    report.add_figure(
        error_rate_figure(result.phases, threshold),
        caption=f"Error rate per phase; the 4XX and 5XX alarms fire above {100 * threshold:g} %.",
    )
    bad = [r for p in result.phases for r in p.requests if r.malformed]
    if bad:
        by_kind: dict[str, list[Any]] = {}
        for r in bad:
            by_kind.setdefault(r.kind, [r.kind, 0, set(), r.message])[1] += 1
            by_kind[r.kind][2].add(r.status)
        report.add_table(
            ["malformed request", "sent", "status", "the endpoint's message"],
            [
                [kind, count, Cell(", ".join(map(str, sorted(statuses))), "warn"), message]
                for kind, count, statuses, message in by_kind.values()
            ],
            caption="Malformed requests of the bad client",
        )


def _drift_section(report: HtmlReport, result: DemoResult) -> None:
    settings = result.settings
    report.add_heading("Drift per phase")
    rows = []
    for name, drift in result.drift.items():
        worst = drift.report.get("worst") or {}
        status = drift.report["status"]
        rows.append(
            [
                PHASE_TITLES[name],
                drift.report["rows"],
                Cell(status, STATUS_OF_DRIFT.get(status)),
                ", ".join(drift.alerted_features) or "none",
                f"{worst.get('name')} ({worst['psi']:.3f})" if worst.get("psi") is not None else "-",
            ]
        )
    report.add_table(
        ["phase", "captured rows", "status", "features in alert", "worst (PSI)"], rows, caption="Drift per phase"
    )
    report.add_paragraph(
        f"PSI against the training baseline's quantile bins: warn at {settings.drift_psi_warn:g}, alert at "
        f"{settings.drift_psi_alert:g}; a mean shift of {settings.drift_mean_shift_sd:g} baseline sd warns. "
        "Each phase is its own time window over the captured records, read by DuckDB with the drift job's query."
    )
    report.add_figure(
        psi_figure(result, settings.drift_psi_warn, settings.drift_psi_alert),
        caption="PSI per feature and for the prediction score, per phase, against the warn and alert thresholds; "
        "red labels: in alert in the drifted phase. Log scale; a PSI below 0.001 draws no bar.",
    )
    if result.baseline is not None and "drifted" in result.drift:
        report.add_figure(
            overlay_figure(result),
            caption="Share of rows per baseline quantile bin: training baseline against captured traffic.",
        )
        drifted = result.drift["drifted"].report
        columns = [*drifted["features"], *([drifted["score"]] if drifted.get("score") else [])]
        report.add_table(
            ["feature", "PSI", "JS distance", "KS distance", "mean shift (sd)", "missing", "out of range", "status"],
            [
                [
                    c["name"],
                    _fixed(c["psi"]),
                    _fixed(c["js_distance"]),
                    _fixed(c["ks_distance"]),
                    _fixed(c["mean_shift_sd"], signed=True),
                    _percent(c["missing_share"]),
                    _percent(c["out_of_range_share"]),
                    Cell(c["status"], STATUS_OF_DRIFT.get(c["status"])),
                ]
                for c in sorted(columns, key=lambda c: -(c["psi"] or 0.0))
            ],
            caption="Drift report of the drifted phase",
        )


def _alarms_section(report: HtmlReport, result: DemoResult) -> None:
    report.add_heading("Alarms")
    phases = [p.name for p in result.phases]
    by_rule: dict[str, dict[str, Any]] = {}
    for evaluation in result.alarms:
        by_rule.setdefault(evaluation.rule.id, {})[evaluation.phase] = evaluation
    rows = []
    for rule_id, evaluations in by_rule.items():
        rule = next(iter(evaluations.values())).rule
        cells: list[Any] = [rule_id, _threshold_text(rule)]
        for phase in phases:
            evaluation = evaluations[phase]
            value = format_metric(rule.metric_name, evaluation.value)
            if evaluation.state == "ALARM":
                cells.append(Cell(f"ALARM · {value}", "alert"))
            elif evaluation.value is None:
                cells.append(Cell("OK · no data", "muted"))
            else:
                cells.append(Cell(f"OK · {value}", "ok"))
        rows.append(cells)
    report.add_table(
        ["alarm", "fires when", *(PHASE_TITLES[p] for p in phases)], rows, caption="Alarm rules evaluated per phase"
    )
    report.add_paragraph(
        "The rules are monitoring/alarm_rules.py, from which the observability stack builds its CloudWatch alarms. "
        "Each phase counts as one alarm period; missing data does not breach. Metrics went to CloudWatch on moto "
        f"({result.metric_datapoints} data points) and each alarm that entered ALARM notified the SNS topic."
    )
    report.add_table(
        ["phase", "subject", "reason"],
        [[PHASE_TITLES.get(n.phase, n.phase), n.subject, n.reason] for n in result.notifications],
        caption="Notifications delivered (SNS → SQS)",
        empty_text="no notification was delivered",
    )


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
        "cdk.out/": "the synthesized cloud assembly",
        "logs/": "synth, training and endpoint logs",
    }
    written_after_this = ("report.html", "summary.json")
    rows = [
        [name, text] for name, text in entries.items() if (result.workdir / name).exists() or name in written_after_this
    ]
    report.add_table(["path (under the workdir)", "holds"], rows, caption=f"Files in {result.workdir}")


def _threshold_text(rule: Any) -> str:
    sign = "≥" if rule.inclusive else ">"
    periods = f" for {rule.evaluation_periods} periods" if rule.evaluation_periods > 1 else ""
    return f"{rule.statistic} {rule.metric_name} {sign} {format_metric(rule.metric_name, rule.threshold)}{periods}"


def _fixed(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


# --- figures ------------------------------------------------------------------------------------


def latency_figure(phases: Sequence[PhaseTraffic]) -> Figure:
    """Latency histogram by request kind, and latency per phase with every request as a dot."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
    requests = [r for p in phases for r in p.requests]
    latencies_ms = np.array([r.latency_us for r in requests]) / m.MICROSECONDS_PER_MS
    bins = np.geomspace(max(latencies_ms.min() * 0.9, 0.05), latencies_ms.max() * 1.1, 40)
    kinds = [("1 row", "#0969da"), ("batch", "#8250df"), ("malformed", "#bf8700")]
    for kind, color in kinds:
        values = [
            r.latency_us / m.MICROSECONDS_PER_MS
            for r in requests
            if (r.malformed if kind == "malformed" else (r.kind == kind and not r.malformed))
        ]
        if values:
            left.hist(values, bins=bins, color=color, alpha=0.75, label=f"{kind} ({len(values)})")
    left.set_xscale("log")
    _plain_log_ticks(left.xaxis)
    left.set_xlabel("latency (ms, log scale)")
    left.set_ylabel("requests")
    left.set_title("Latency by request kind")
    left.legend()

    rng = np.random.default_rng(0)
    for position, traffic in enumerate(phases):
        values = np.array([r.latency_us for r in traffic.requests]) / m.MICROSECONDS_PER_MS
        right.boxplot(
            values,
            positions=[position],
            widths=0.5,
            showfliers=False,
            medianprops={"color": "black"},
            boxprops={"color": PHASE_COLORS[traffic.name]},
            whiskerprops={"color": PHASE_COLORS[traffic.name]},
            capprops={"color": PHASE_COLORS[traffic.name]},
        )
        jitter = position + rng.uniform(-0.18, 0.18, len(values))
        colors = ["#bf8700" if r.malformed else PHASE_COLORS[traffic.name] for r in traffic.requests]
        right.scatter(jitter, values, s=6, alpha=0.45, c=colors, linewidths=0)
    right.set_yscale("log")
    _plain_log_ticks(right.yaxis)
    right.grid(axis="x", visible=False)
    right.set_xticks(range(len(phases)), [p.title for p in phases])
    right.set_ylabel("latency (ms, log scale)")
    right.set_title("Latency per phase (dots: requests; amber: malformed)")
    figure.tight_layout()
    return figure


def error_rate_figure(phases: Sequence[PhaseTraffic], threshold: float) -> Figure:
    """4xx and 5xx rate per phase as bars, with the alarm threshold."""
    figure, axes = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(phases))
    width = 0.36
    for offset, (label, attribute, color) in zip(
        (-width / 2, width / 2),
        (("4xx (client errors)", "client_error", "#bf8700"), ("5xx (server errors)", "server_error", "#cf222e")),
        strict=True,
    ):
        counts = [sum(getattr(r, attribute) for r in p.requests) for p in phases]
        totals = [len(p.requests) for p in phases]
        rates = [100 * c / t if t else 0.0 for c, t in zip(counts, totals, strict=True)]
        bars = axes.bar(x + offset, rates, width, label=label, color=color)
        for bar, count, total in zip(bars, counts, totals, strict=True):
            axes.annotate(
                f"{count}/{total}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=9,
            )
    axes.axhline(100 * threshold, color=ALERT_COLOR, linestyle="--", linewidth=1.2)
    axes.annotate(
        f"alarm threshold {100 * threshold:g} %",
        (0.5, 100 * threshold),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        color=ALERT_COLOR,
        fontsize=9,
    )
    axes.grid(axis="x", visible=False)
    axes.set_xticks(x, [p.title for p in phases])
    axes.set_ylabel("share of requests (%)")
    top = max([100 * threshold, *(100 * sum(r.client_error for r in p.requests) / len(p.requests) for p in phases)])
    axes.set_ylim(0, top * 1.35)
    axes.set_title("Error rate per phase")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


def psi_figure(result: DemoResult, warn: float, alert: float) -> Figure:
    """Horizontal PSI bars per feature (and the score), one bar per phase, with the warn and alert lines.

    Log scale: undrifted traffic sits around 0.001-0.01, a decade or two below the thresholds, and
    that distance is what a reader should see; values below PSI_FLOOR are drawn at the floor.
    """
    reports = {name: drift.report for name, drift in result.drift.items() if drift.report.get("features")}
    order_source = reports.get("drifted") or next(iter(reports.values()))
    names = [c["name"] for c in [*order_source["features"], order_source["score"]]]
    names.sort(key=lambda n: _psi_of(order_source, n) or 0.0)
    figure, axes = plt.subplots(figsize=(10, 0.36 * len(names) + 1.4))
    y = np.arange(len(names))
    height = 0.8 / max(len(reports), 1)
    for index, (phase, report) in enumerate(reports.items()):
        values = [max(_psi_of(report, n) or 0.0, PSI_FLOOR) for n in names]
        offset = ((len(reports) - 1) / 2 - index) * height  # first phase on top, as in the legend
        widths = [value - PSI_FLOOR for value in values]  # a bar spans [floor, value] on the log axis
        bars = axes.barh(
            y + offset, widths, height, left=PSI_FLOOR, color=PHASE_COLORS[phase], label=PHASE_TITLES[phase]
        )
        if phase == "drifted":
            for bar, value in zip(bars, values, strict=True):
                if value >= warn:
                    axes.annotate(
                        f"{value:.2f}",
                        (value, bar.get_y() + bar.get_height() / 2),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=8,
                    )
    axes.axvline(warn, color=WARN_COLOR, linestyle="--", linewidth=1.2, label=f"warn {warn:g}")
    axes.axvline(alert, color=ALERT_COLOR, linestyle="--", linewidth=1.2, label=f"alert {alert:g}")
    axes.set_yticks(y, [n.replace("prediction_score", "prediction score") for n in names])
    alerted = {c["name"] for c in [*order_source["features"], order_source["score"]] if c["status"] == "alert"}
    for label, name in zip(axes.get_yticklabels(), names, strict=True):
        if name in alerted:
            label.set_color(ALERT_COLOR)
            label.set_fontweight("bold")
    axes.set_xscale("log")
    axes.set_xlim(PSI_FLOOR, max(10 * alert, *(bar.get_x() + bar.get_width() for bar in axes.patches)) * 2)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("PSI (log scale)")
    axes.set_title("Population stability index per feature")
    axes.legend(loc="lower right")
    axes.grid(axis="y", visible=False)
    figure.tight_layout()
    return figure


def _plain_log_ticks(axis: Any) -> None:
    """Label a log axis 1, 2, 5, 10, … instead of 2×10⁰."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _psi_of(report: dict[str, Any], name: str) -> float | None:
    for column in [*report.get("features", []), *([report["score"]] if report.get("score") else [])]:
        if column["name"] == name:
            return column["psi"]
    return None


def overlay_figure(result: DemoResult) -> Figure:
    """Baseline share per quantile bin against the normal and drifted phases, for the most drifted features."""
    assert result.baseline is not None
    drifted = result.drift["drifted"].report
    ranked = sorted(drifted["features"], key=lambda c: -(c["psi"] or 0.0))[:OVERLAY_FEATURES]
    distributions = {d.name: (i, d) for i, d in enumerate(result.baseline.features)}
    columns = 2
    rows = (len(ranked) + columns - 1) // columns
    figure, grid = plt.subplots(rows, columns, figsize=(11, 3.3 * rows), squeeze=False)
    for axes, column in zip(grid.flat, ranked, strict=False):
        index, distribution = distributions[column["name"]]
        _overlay(axes, distribution, index, result, column["psi"])
    for axes in list(grid.flat)[len(ranked) :]:
        axes.set_visible(False)
    handles, labels = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 1.02))
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    return figure


def _overlay(axes: Axes, distribution: BinnedDistribution, index: int, result: DemoResult, psi: float | None) -> None:
    bins = np.arange(len(distribution.shares))
    axes.bar(bins, distribution.shares, width=0.85, color=BASELINE_COLOR, alpha=0.55, label="training baseline")
    for phase in ("normal", "drifted"):
        counts = result.drift[phase].counts.features[index]
        total = counts.count
        if not total:
            continue
        shares = np.array(counts.bin_counts()) / total
        axes.plot(bins, shares, marker="o", markersize=3.5, linewidth=1.6, color=PHASE_COLORS[phase], label=phase)
    edges = distribution.edges
    step = max(1, math.ceil(len(edges) / 7))
    shown = range(0, len(edges), step)
    axes.set_xticks([k + 0.5 for k in shown], [f"{edges[k]:.4g}" for k in shown], fontsize=8)
    axes.set_xlabel("bin upper edge (value)")
    axes.set_ylabel("share of rows")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_title(f"{distribution.name}  (PSI {psi:.2f})" if psi is not None else distribution.name)
    axes.grid(axis="x", visible=False)


def training_figure(trained: TrainedModel, min_auc: float) -> Figure | None:
    """ROC curve and score histograms of the validation split, scored by the trained booster."""
    scores, labels = _validation_scores(trained)
    if scores is None or labels is None or labels.min() == labels.max():
        return None
    order = np.argsort(-scores)
    sorted_labels = labels[order]
    tpr = np.concatenate([[0.0], np.cumsum(sorted_labels) / sorted_labels.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(1 - sorted_labels) / (1 - sorted_labels).sum()])
    auc = trained.evaluation["validation"]["auc"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(fpr, tpr, color="#0969da", linewidth=2, label=f"model (AUC {auc:.3f})")
    left.plot([0, 1], [0, 1], color=BASELINE_COLOR, linestyle=":", label="chance (AUC 0.5)")
    left.set_xlabel("false positive rate")
    left.set_ylabel("true positive rate")
    left.set_title(f"ROC curve (quality gate: AUC ≥ {min_auc:g})")
    left.legend(loc="lower right")
    bins = np.linspace(0, 1, 41)
    right.hist(scores[labels == 0], bins=bins, alpha=0.65, color="#0969da", label="stayed (label 0)")
    right.hist(scores[labels == 1], bins=bins, alpha=0.65, color="#cf222e", label="churned (label 1)")
    right.axvline(0.5, color="black", linestyle="--", linewidth=1, label="label threshold 0.5")
    right.set_xlabel("predicted churn probability")
    right.set_ylabel("validation rows")
    right.set_title("Scores per true label")
    right.legend()
    figure.tight_layout()
    return figure


def _validation_scores(trained: TrainedModel) -> tuple[np.ndarray | None, np.ndarray | None]:
    import xgboost as xgb

    with tarfile.open(trained.result.model_tar) as archive:
        member = archive.extractfile("model.ubj")
        if member is None:
            return None, None
        model_bytes = bytearray(member.read())
    table = np.genfromtxt(io.StringIO((trained.data_dir / "validation.csv").read_text()), delimiter=",", skip_header=1)
    booster = xgb.Booster()
    booster.load_model(model_bytes)
    scores = booster.inplace_predict(table[:, :-1])
    return np.asarray(scores, dtype=np.float64), table[:, -1].astype(int)


# --- terminal summary ---------------------------------------------------------------------------


def print_summary(result: DemoResult, console: Console) -> None:
    """A short terminal summary: traffic and drift per phase, the checks, and the report's path."""
    from rich import box
    from rich.table import Table

    table = Table(title="Per phase", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, padding=(0, 1))
    for header in ("phase", "requests", "rows", "4xx", "5xx", "p95 ms", "drift", "alarms fired"):
        table.add_column(header, justify="left" if header in ("phase", "drift", "alarms fired") else "right")
    for traffic in result.phases:
        drift = result.drift.get(traffic.name)
        status = drift.report["status"] if drift else "-"
        style = {"ok": "green", "warn": "yellow", "alert": "bold red"}.get(status, "dim")
        latencies = np.array([r.latency_us for r in traffic.requests]) / m.MICROSECONDS_PER_MS
        fired = ", ".join(a.rule.id for a in result.fired if a.phase == traffic.name) or "-"
        table.add_row(
            traffic.title,
            f"{len(traffic.requests):,}",
            f"{traffic.rows:,}",
            str(sum(r.client_error for r in traffic.requests)),
            str(sum(r.server_error for r in traffic.requests)),
            f"{np.percentile(latencies, 95):.1f}",
            f"[{style}]{status}[/]",
            fired,
        )
    console.print()
    console.print(table)
    for check in checks(result):
        mark = "[green]✓[/green]" if check.passed else "[bold red]✗[/bold red]"
        console.print(f"  {mark} {check.what}: {check.observed}")
    total = sum(t.seconds for t in result.timings)
    console.print(f"\n[bold]Report:[/bold] {result.report_path}  [dim](demo took {total:.0f} s)[/dim]")
