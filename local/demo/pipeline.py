"""The demo from start to end: options, the nine steps in order, and the exit code.

moto's server and the endpoint's child process are stopped in `finally`, on Ctrl-C as well.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from local.demo.alarms import raise_alarms
from local.demo.checks import checks
from local.demo.drift import compute_drift
from local.demo.emulator import AwsEmulator
from local.demo.outputs import print_summary, summary, write_requests_csv
from local.demo.registry import register_model
from local.demo.results import CANDIDATE_VERSION, PHASE_TITLES, DemoResult
from local.demo.retrain import DEPLOYMENT, TRAINING, path_of, retrain
from local.demo.rollout import roll_out
from local.demo.steps import STEPS, DemoError, DemoStepFailed, StepTracker, step_number
from local.demo.synth import node_end_of_life_notice, synthesize_stacks, synthesized_training_run
from local.demo.traffic import serve_and_send
from local.demo.train import train_model
from local.demo.workdir import load_settings, prepare_workdir

if TYPE_CHECKING:
    from rich.console import Console

MIN_ROWS, MAX_ROWS = 1000, 1_000_000  # the `synthetic_rows` setting's range
INTERRUPTED = 130  # the exit code of a process stopped by SIGINT, as shells report it


@dataclass(frozen=True)
class DemoOptions:
    """What the user chose on the command line."""

    workdir: Path
    rows: int | None = None
    skip_synth: bool = False
    context: Mapping[str, str] = field(default_factory=dict)  # settings over cdk.json's (`-c KEY=VALUE`)


def synthetic_data_notice(data_path: str) -> str:
    """Why the demo trains on synthetic data although `data_path` is set."""
    return (
        f"note: data_path is set ({data_path}), but the demo trains on synthetic data: its drifted "
        "traffic shifts the synthetic features; `make deploy` and `mlops train` use your file"
    )


def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    """Run the nine steps; moto and the endpoint are stopped in `finally`, also on Ctrl-C."""
    settings = load_settings(options.context)
    rows = options.rows if options.rows is not None else settings.synthetic_rows
    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise DemoError(f"--rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")
    workdir = prepare_workdir(options.workdir)
    result = DemoResult(workdir, settings, rows, datetime.now(UTC))
    tracker = StepTracker(console, result)
    console.print(f"[bold]mlops demo[/bold] into {workdir} ({rows:,} training rows, endpoint {settings.endpoint_name})")
    try:
        with tracker.step("synth") as out:
            if options.skip_synth:
                out.append("skipped (--skip-synth)")
            else:
                synth_log = workdir / "logs" / "synth.log"
                result.stacks = synthesize_stacks(workdir / "cdk.out", synth_log, options.context)
                result.synthesized_training_run = synthesized_training_run(workdir / "cdk.out")
                resources = sum(s.resources for s in result.stacks)
                out.append(f"{len(result.stacks)} stacks, {resources} resources, cdk-nag passed")
                out.extend(f"{s.name:<30} {s.resources:>4} resources  {s.nag_status}" for s in result.stacks)
                notice = node_end_of_life_notice(synth_log.read_text(encoding="utf-8"))
                if notice:
                    out.append(f"warning: {notice}")
        if settings.data_path:
            console.print(synthetic_data_notice(settings.data_path), style="yellow", markup=False)
        with tracker.step("train") as out:
            trained = result.trained = train_model(workdir, settings, rows)
            validation = trained.evaluation["validation"]
            out.append(f"AUC {validation['auc']:.4f}: {trained.decision.status} by the quality gate")
            out.append(f"job {trained.job_name}")
            out.append(
                f"accuracy {validation['accuracy']:.4f}, log loss {validation['log_loss']:.4f}, "
                f"F1 {validation['f1']:.4f}"
            )
        with AwsEmulator() as aws, contextlib.ExitStack() as endpoints:
            with tracker.step("register") as out:
                registration = result.registration = register_model(aws, settings, trained)
                version = registration.package.get("ModelPackageVersion", "?")
                out.append(f"{registration.group} version {version}: {registration.package['ModelApprovalStatus']}")
                alarms = len(registration.alarm_names)
                out.append(f"moto at {aws.endpoint_url}: bucket, registry, topic, {alarms} alarms")
            with tracker.step("traffic", spinner=False) as out:
                v1 = serve_and_send(aws, settings, registration, result, console, endpoints)
                out.append(f"{sum(len(p.requests) for p in result.phases)} requests with boto3 sagemaker-runtime")
                for p in result.phases:
                    errors = sum(r.client_error for r in p.requests)
                    out.append(f"{p.title:<11} {len(p.requests):>4} requests {p.rows:>7,} rows {errors:>3} 4xx")
            with tracker.step("drift") as out:
                compute_drift(aws, settings, result)
                out.append(", ".join(f"{PHASE_TITLES[n]} {d.report['status']}" for n, d in result.drift.items()))
                for name, drift in result.drift.items():
                    if drift.alerted_features:
                        out.append(f"in alert ({PHASE_TITLES[name]}): {', '.join(drift.alerted_features)}")
            with tracker.step("alarms") as out:
                raise_alarms(aws, settings, result)
                fired = ", ".join(f"{a.rule.id} ({PHASE_TITLES[a.phase]})" for a in result.fired) or "none"
                out.append(f"fired: {fired}")
                out.append(f"SNS → SQS: {len(result.notifications)} of {result.published} notifications delivered")
                out.append(f"CloudWatch: {result.metric_datapoints} metric data points")
            with tracker.step("retrain") as out:
                retrained = retrain(aws, settings, result, v1.url)
                v1_version, v2_version = retrained.versions[1], retrained.versions[CANDIDATE_VERSION]
                out.append(
                    f"version {v2_version.version}: {retrained.status}, validation AUC {v2_version.validation_auc:.4f} "
                    f"on fresh labels (version 1 scores {v1_version.fresh_auc:.4f} on them)"
                )
                out.append(f"new-data rule: {retrained.new_data_matched} run started by {retrained.labelled_keys[-1]}")
                out.append(f"approval rule matched: {_matched(retrained.approval_matched)}")
                out.append(" → ".join(path_of(result, TRAINING)))
            with tracker.step("rollout") as out:
                roll_out(aws, settings, result, v1, endpoints)
                verdict = retrained.verdict
                assert verdict is not None and retrained.bake is not None
                out.append(f"version {retrained.serving_version} serves; {verdict.reason}")
                cold = [(t or 0) / 1e6 for t in (retrained.setup_time_us, result.setup_time_us)]
                out.append(
                    f"update: {len(retrained.update_requests)} requests answered by version 1 while version 2 "
                    f"started in {cold[0]:.1f} s (version 1's cold start: {cold[1]:.1f} s)"
                )
                drift = ", ".join(f"v{n} baseline {d.report['status']}" for n, d in retrained.drift.items())
                out.append(f"bake traffic drift: {drift}; DriftAlarm {retrained.drift_alarm_after}")
                out.append(" → ".join(path_of(result, DEPLOYMENT)))
        with tracker.step("report") as out:
            # matplotlib loads only here: the steps before it and `mlops --help` do without it.
            from local.demo.report import write_report

            write_requests_csv(result, workdir / "requests.csv")
            write_report(result, result.report_path)
            out.append(str(result.report_path))
    except KeyboardInterrupt:
        where = f" during step {tracker.current[0]}/{len(STEPS)} ({tracker.current[1]})" if tracker.current else ""
        console.print(f"[bold red]✗ interrupted{where}[/bold red]; stopped what the demo had started")
        raise
    (workdir / "summary.json").write_text(json.dumps(summary(result), indent=2) + "\n", encoding="utf-8")
    print_summary(result, console)
    unmet = [check for check in checks(result) if not check.passed]
    if unmet:
        # The report is written: it shows what happened. The run still fails, naming the step.
        first = unmet[0]
        what = "; ".join(f"{c.what}: expected {c.expected}, observed {c.observed}" for c in unmet)
        raise DemoStepFailed(
            step_number(first.step), first.step, dict(STEPS)[first.step], DemoError(f"expectation not met: {what}")
        )
    return result


def _matched(by_status: dict[str, int]) -> str:
    return ", ".join(f"{status} {count}" for status, count in by_status.items())


def run(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo and turn the outcome into an exit code: 0, 1 (a step failed), 2 (bad options), 130 (Ctrl-C)."""
    from rich.console import Console

    console = console or Console(highlight=False)
    try:
        run_demo(options, console)
    except DemoStepFailed as failure:
        console.print(f"[bold red]mlops demo: {failure}[/bold red]")
        console.print(f"logs: {options.workdir.resolve() / 'logs'}")
        return 1
    except DemoError as exc:
        console.print(f"[bold red]mlops demo: {exc}[/bold red]")
        return 2
    except KeyboardInterrupt:
        return INTERRUPTED
    return 0
