"""Monitoring verbs of `mlops`: `drift` (the local drift engine over capture files)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_cli.arguments import EXIT_NO, EXIT_OK, fail, number, plain_number

if TYPE_CHECKING:
    from monitoring.baseline import Baseline
    from monitoring.drift_query import WindowCounts

# Capture data lives at most `capture_retention_days` (at most 3650 days) in S3.
MAX_WINDOW_HOURS = 3650 * 24
FAIL_LEVELS = ("warn", "alert")
DRIFT_DESCRIPTION = (
    "Drift of captured requests against the training baseline, computed locally with DuckDB. "
    "Only rows of the baseline's own model count (the model id the captures carry; --model-id "
    "picks another). Exit status: 0 the report was computed (whatever it says, unless --fail-on); "
    "1 with --fail-on LEVEL, the report's status is LEVEL or worse (warn < alert); 2 bad usage or "
    "input: bad arguments, an unreadable or invalid baseline, no capture files, or captures that "
    "are not of the baseline's model (one line on stderr)."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the monitoring verbs."""
    drift = subparsers.add_parser(
        "drift",
        help="drift report of captured requests against a baseline (DuckDB, local files)",
        description=DRIFT_DESCRIPTION,
    )
    drift.add_argument("--baseline", type=Path, required=True, help="baseline.json, or a model.tar.gz holding it")
    drift.add_argument("--capture", type=Path, required=True, help="a capture .jsonl file or a directory tree of them")
    drift.add_argument("--json", action="store_true", help="print the report as JSON (docs/contracts.md)")
    drift.add_argument(
        "--window-hours",
        type=number(0, MAX_WINDOW_HOURS, low_open=True),
        help=f"only rows of the last H hours before --end, 0 < H <= {MAX_WINDOW_HOURS} (default: all rows)",
    )
    drift.add_argument("--end", type=_end_time, help="end of the window, e.g. 2026-11-26T10:00:00Z (default: now)")
    drift.add_argument("--endpoint", default="local", help="endpoint name shown in the report (default: local)")
    drift.add_argument("--model-id", help="compare the captured rows of this model (default: the baseline's own)")
    drift.add_argument("--fail-on", choices=FAIL_LEVELS, help="exit 1 when the report's status is this level or worse")
    for flag, setting in (
        ("--psi-warn", "drift_psi_warn"),
        ("--psi-alert", "drift_psi_alert"),
        ("--mean-shift-sd", "drift_mean_shift_sd"),
        ("--min-rows", "drift_min_rows"),
    ):
        drift.add_argument(flag, dest=setting, type=plain_number, help=f"override the `{setting}` setting")
    drift.set_defaults(run=run_drift)


def run_drift(args: argparse.Namespace) -> int:
    """Compute and print the drift report; the exit status follows DRIFT_DESCRIPTION."""
    from mlops_cli.console import output_console
    from mlops_core.settings import SettingError, Settings
    from monitoring.baseline import BaselineError, load_baseline
    from monitoring.drift_query import TimeWindow
    from monitoring.drift_report import build_report
    from monitoring.drift_stats import DriftThresholds
    from monitoring.tools.drift_engine_local import CaptureReadError, capture_files, window_counts
    from monitoring.tools.drift_table import render_report

    try:
        overrides = {
            name: getattr(args, name)
            for name in ("drift_psi_warn", "drift_psi_alert", "drift_mean_shift_sd", "drift_min_rows")
            if getattr(args, name) is not None
        }
        thresholds = DriftThresholds.from_settings(Settings.from_context(overrides))
        window = None
        if args.window_hours is not None:
            end = args.end or datetime.now(UTC)
            try:
                window = TimeWindow.ending(end, args.window_hours)
            except OverflowError:
                raise ValueError(f"a window of {args.window_hours:g} hours before {end} starts before year 1") from None
        elif args.end is not None:
            raise ValueError("--end needs --window-hours")
        baseline = load_baseline(args.baseline)
        if not capture_files(args.capture):
            raise ValueError(f"no capture files (*.jsonl) under {args.capture}")
        model_ids = (args.model_id,) if args.model_id else baseline.model_ids
        counts = window_counts(baseline, capture_files(args.capture, window), window, model_ids)
        _check_captures_belong_to(baseline, counts, model_ids)
    except (SettingError, BaselineError, CaptureReadError, ValueError) as exc:
        return fail("drift", exc)
    report = build_report(baseline, counts, thresholds, endpoint=args.endpoint, window=window)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        render_report(report, output_console())
    for note in _left_out(baseline, counts):
        print(f"mlops drift: note: {note}", file=sys.stderr)
    if args.fail_on and report["status"] in FAIL_LEVELS[FAIL_LEVELS.index(args.fail_on) :]:
        return EXIT_NO
    return EXIT_OK


def _check_captures_belong_to(baseline: Baseline, counts: WindowCounts, model_ids: tuple[str, ...]) -> None:
    """No row to compare because every captured row is of another model or shape: name the mismatch."""
    if counts.rows:
        return
    if counts.other_width_rows:
        raise ValueError(
            f"the baseline has {len(baseline.features)} features, but {counts.other_width_rows} captured rows "
            f"have {counts.other_width} feature value(s): it is not the baseline of the model that served them"
        )
    if counts.other_model_rows:
        raise ValueError(
            f"the {counts.other_model_rows} captured rows come from model {counts.other_model_id!r}"
            f"{' (and maybe others)' if counts.other_model_rows > 1 else ''}, not from the baseline's "
            f"{' or '.join(repr(m) for m in model_ids)}: pass that model's baseline, or --model-id"
        )


def _left_out(baseline: Baseline, counts: WindowCounts) -> list[str]:
    """What the report left out besides malformed lines, said once on stderr."""
    notes = []
    if counts.rows and counts.other_model_rows:
        notes.append(f"{counts.other_model_rows} rows of other models (e.g. {counts.other_model_id!r}) left out")
    if counts.rows and counts.other_width_rows:
        notes.append(
            f"{counts.other_width_rows} rows with {counts.other_width} values instead of "
            f"{len(baseline.features)} counted as skipped lines"
        )
    return notes


def _end_time(text: str) -> datetime:
    """An argparse type: the capture records' own time syntax (monitoring.capture.parse_timestamp)."""
    from monitoring.capture import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
