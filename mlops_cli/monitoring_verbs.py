"""Monitoring verbs of `mlops`: `drift` (the local drift engine over capture files)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the monitoring verbs."""
    drift = subparsers.add_parser(
        "drift",
        help="drift report of captured requests against a baseline (DuckDB, local files)",
        description="Drift of captured requests against the training baseline, computed locally with DuckDB.",
    )
    drift.add_argument("--baseline", type=Path, required=True, help="baseline.json, or a model.tar.gz holding it")
    drift.add_argument("--capture", type=Path, required=True, help="a capture .jsonl file or a directory tree of them")
    drift.add_argument("--json", action="store_true", help="print the report as JSON (docs/contracts.md)")
    drift.add_argument(
        "--window-hours", type=float, help="only rows of the last H hours before --end (default: all rows)"
    )
    drift.add_argument("--end", help="end of the window, ISO 8601 (default: now)")
    drift.add_argument("--endpoint", default="local", help="endpoint name shown in the report (default: local)")
    for flag, setting in (
        ("--psi-warn", "drift_psi_warn"),
        ("--psi-alert", "drift_psi_alert"),
        ("--mean-shift-sd", "drift_mean_shift_sd"),
        ("--min-rows", "drift_min_rows"),
    ):
        drift.add_argument(flag, dest=setting, help=f"override the `{setting}` setting")
    drift.set_defaults(run=run_drift)


def run_drift(args: argparse.Namespace) -> int:
    """Compute and print the drift report; exit 2 with a message on bad input."""
    from mlops_stacks.settings import SettingError, Settings
    from monitoring.baseline import BaselineError, load_baseline
    from monitoring.drift_engine_local import run_local_drift
    from monitoring.drift_query import TimeWindow
    from monitoring.drift_report import render_report
    from monitoring.drift_stats import DriftThresholds

    try:
        overrides = {
            name: getattr(args, name)
            for name in ("drift_psi_warn", "drift_psi_alert", "drift_mean_shift_sd", "drift_min_rows")
            if getattr(args, name) is not None
        }
        thresholds = DriftThresholds.from_settings(Settings.from_context(overrides))
        window = None
        if args.window_hours is not None:
            if args.window_hours <= 0:
                raise ValueError(f"--window-hours must be positive, got {args.window_hours}")
            window = TimeWindow.ending(_end_time(args.end), args.window_hours)
        elif args.end is not None:
            raise ValueError("--end needs --window-hours")
        baseline = load_baseline(args.baseline)
        report = run_local_drift(baseline, args.capture, thresholds, endpoint=args.endpoint, window=window)
    except (SettingError, BaselineError, FileNotFoundError, ValueError) as exc:
        print(f"mlops drift: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        render_report(report)
    return 0


def _end_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--end must be an ISO 8601 time, got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
