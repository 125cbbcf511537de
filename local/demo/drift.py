"""Step 5: drift of every phase's window over the captured records, found and computed as the drift job does."""

from __future__ import annotations

import json

from local.demo.emulator import AwsEmulator
from local.demo.results import DemoResult, PhaseDrift
from local.demo.steps import DemoError
from mlops_core.settings import Settings


def compute_drift(aws: AwsEmulator, settings: Settings, result: DemoResult) -> None:
    """Drift of every phase's window: baseline found from the endpoint, as the drift Lambda does; DuckDB engine.

    The same steps as `run_local_drift`, keeping the bin counts for the report's overlays.
    """
    from monitoring.drift_report import build_report
    from monitoring.drift_run import find_baseline_uri, read_baseline
    from monitoring.drift_stats import DriftThresholds
    from monitoring.tools.drift_engine_local import capture_files, window_counts

    uri = find_baseline_uri(aws.client("sagemaker"), settings.endpoint_name)
    baseline = read_baseline(aws.client("s3"), uri)
    result.baseline = baseline
    thresholds = DriftThresholds.from_settings(settings)
    capture_root = result.workdir / "capture" / settings.endpoint_name
    if not capture_root.is_dir():
        raise DemoError(f"the endpoint captured nothing: {capture_root} does not exist")
    reports_dir = result.workdir / "drift"
    reports_dir.mkdir()
    for traffic in result.phases:
        window = traffic.window
        counts = window_counts(baseline, capture_files(capture_root, window), window)
        report = build_report(baseline, counts, thresholds, endpoint=settings.endpoint_name, window=window)
        (reports_dir / f"{traffic.name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        result.drift[traffic.name] = PhaseDrift(traffic.name, report, counts)
