"""The report's sections on what the traffic showed: requests per phase, drift and alarms."""

from __future__ import annotations

from typing import Any

import numpy as np

from local.demo.alarms import format_metric
from local.demo.figures import error_rate_figure, latency_figure, overlay_figure, psi_figure
from local.demo.results import PHASE_TITLES, DemoResult
from monitoring import metrics as m
from monitoring.tools.drift_table import statistic_cells
from monitoring.tools.html_report import Cell, HtmlReport

STATUS_OF_DRIFT = {"ok": "ok", "warn": "warn", "alert": "alert", "no_data": "muted"}


def traffic_section(report: HtmlReport, result: DemoResult) -> None:
    """Requests per phase, their latency and error rates, and the bad client's malformed requests."""
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


def drift_section(report: HtmlReport, result: DemoResult) -> None:
    """Drift per phase, PSI per feature, the bin overlays and the drifted phase's full report."""
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
                [c["name"], *statistic_cells(c), Cell(c["status"], STATUS_OF_DRIFT.get(c["status"]))]
                for c in sorted(columns, key=lambda c: -(c["psi"] or 0.0))
            ],
            caption="Drift report of the drifted phase",
        )


def alarms_section(report: HtmlReport, result: DemoResult) -> None:
    """Each alarm rule per phase, and the notifications delivered through SNS."""
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


def _threshold_text(rule: Any) -> str:
    sign = "≥" if rule.inclusive else ">"
    periods = f" for {rule.evaluation_periods} periods" if rule.evaluation_periods > 1 else ""
    return f"{rule.statistic} {rule.metric_name} {sign} {format_metric(rule.metric_name, rule.threshold)}{periods}"
