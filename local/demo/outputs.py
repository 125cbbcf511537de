"""What the demo leaves besides the report: summary.json, requests.csv and the summary in the terminal."""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.demo.checks import checks
from local.demo.results import DemoResult
from monitoring import metrics as m

if TYPE_CHECKING:
    from rich.console import Console


def write_requests_csv(result: DemoResult, path: Path) -> None:
    """Every request: phase, kind, formats, rows, status and latency."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phase", "kind", "content_type", "accept", "rows", "malformed", "status", "latency_us"])
        for traffic in result.phases:
            for r in traffic.requests:
                writer.writerow(
                    [r.phase, r.kind, r.content_type, r.accept, r.rows, r.malformed, r.status, f"{r.latency_us:.0f}"]
                )


def summary(result: DemoResult) -> dict[str, Any]:
    """The machine-readable outcome (summary.json)."""
    phases = {}
    for traffic in result.phases:
        drift = result.drift.get(traffic.name)
        phases[traffic.name] = {
            "requests": len(traffic.requests),
            "rows": traffic.rows,
            "malformed": sum(r.malformed for r in traffic.requests),
            "client_errors": sum(r.client_error for r in traffic.requests),
            "server_errors": sum(r.server_error for r in traffic.requests),
            "window": traffic.window.as_dict(),
            "drift_status": drift.report["status"] if drift else None,
            "drifted_features": drift.alerted_features if drift else [],
            "alarms_fired": [a.rule.id for a in result.fired if a.phase == traffic.name],
        }
    registration = result.registration
    return {
        "workdir": str(result.workdir),
        "rows": result.rows,
        "endpoint_name": result.settings.endpoint_name,
        "model_package_arn": registration.package_arn if registration else None,
        "job_name": result.trained.job_name if result.trained else None,
        "phases": phases,
        "notifications_published": result.published,
        "notifications_delivered": len(result.notifications),
        "moto_endpoint_url": registration.endpoint_url if registration else None,
        "local_endpoint_url": result.endpoint_url,
        "steps": [{"step": t.key, "seconds": round(t.seconds, 2), "outcome": t.outcome} for t in result.timings],
        "pipeline_steps": [asdict(step) for step in result.pipeline_steps],
        "retrain": retrain_summary(result),
    }


def retrain_summary(result: DemoResult) -> dict[str, Any] | None:
    """The retrain phase's figures: both versions, the update, the bake and drift against each baseline."""
    retrained = result.retrain
    if retrained is None:
        return None
    bake = retrained.bake
    return {
        "labelled_keys": retrained.labelled_keys,
        "new_data_rule_matched": retrained.new_data_matched,
        "approval_rule_matched": retrained.approval_matched,
        "versions": {str(n): asdict(v) for n, v in retrained.versions.items()},
        "plan": retrained.plan.as_output() if retrained.plan else None,
        "update_requests": len(retrained.update_requests),
        "update_requests_answered": sum(r.status == 200 for r in retrained.update_requests),
        "setup_time_us": retrained.setup_time_us,
        "kept_config": retrained.kept_config,
        "bake": {
            "requests": len(bake.requests),
            "rows": bake.rows,
            "window": bake.window.as_dict(),
            "alarms": {e.rule.id: e.state for e in retrained.bake_alarms},
        }
        if bake
        else None,
        "verdict": retrained.verdict.as_output() if retrained.verdict else None,
        "drift_status_by_baseline": {str(n): d.report["status"] for n, d in retrained.drift.items()},
        "drift_alarm_after": retrained.drift_alarm_after,
        "serving_version": retrained.serving_version,
        "local_endpoint_url": retrained.endpoint_url,
    }


def print_summary(result: DemoResult, console: Console) -> None:
    """A short terminal summary: traffic and drift per phase, the checks, and the report's path."""
    import numpy as np
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
