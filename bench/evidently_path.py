"""Evidently's DataDriftPreset on the drift bench's data; runs inside Evidently's own venv.

Started by `bench/drift_bench.py` in Evidently's own environment, .venv-evidently (Evidently 0.7.23
needs pandas<3, which the project venv must not get). Reads the raw reference and current samples
that the bench wrote as .npy (the same arrays the capture JSONL was made from), runs the preset
with Evidently's default per-column methods and thresholds, and prints one JSON line: seconds, peak
memory (VmHWM) and a report shaped like ours (per-feature status), so the bench scores it alike.

    .venv-evidently/bin/python bench/evidently_path.py --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently import __version__ as evidently_version
from evidently.presets import DataDriftPreset

VALUE_DRIFT = "evidently:metric_v2:ValueDrift"


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), as the bench's other paths measure it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line: the bench measures memory on Linux only")


def column_verdicts(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per column: Evidently's drift score, method, threshold and its own drifted/not verdict."""
    scores = {
        m["config"]["column"]: (m["value"], m["config"]["method"], m["config"]["threshold"])
        for m in snapshot["metrics"]
        if m["config"]["type"] == VALUE_DRIFT
    }
    verdicts: dict[str, dict[str, Any]] = {}
    for test in snapshot["tests"]:
        params = test["metric_config"]["params"]
        if params["type"] != VALUE_DRIFT:
            continue
        value, method, threshold = scores[params["column"]]
        verdicts[params["column"]] = {
            "name": params["column"],
            "drift_score": float(value),
            "method": method,
            "threshold": float(threshold),
            # A failed "Value Drift" test is Evidently's own call that the column drifted.
            "status": "alert" if test["status"] == "FAIL" else "ok",
        }
    missing = set(scores) - set(verdicts)
    if missing:
        raise RuntimeError(f"Evidently reported no drift test for columns {sorted(missing)}")
    return verdicts


def run(workdir: Path) -> dict[str, Any]:
    """Load the samples into DataFrames and run DataDriftPreset over every column."""
    frames = workdir / "frames"
    columns = json.loads((frames / "columns.json").read_text())
    started = time.perf_counter()
    reference = pd.DataFrame(np.load(frames / "reference.npy"), columns=columns["all"])
    current = pd.DataFrame(np.load(frames / "current.npy"), columns=columns["all"])
    loaded = time.perf_counter() - started
    # Declared numerical: left to inference, the discrete (Poisson) features could be taken as
    # categorical and tested with another method than the continuous ones.
    definition = DataDefinition(numerical_columns=columns["all"])
    report = Report([DataDriftPreset()], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    ).dict()
    verdicts = column_verdicts(snapshot)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "load_seconds": loaded,
        "versions": {"evidently": evidently_version, "pandas": pd.__version__, "numpy": np.__version__},
        "report": {
            "rows": len(current),
            # Evidently reads the arrays, not the capture lines: nothing to skip.
            "skipped_lines": 0,
            "features": [verdicts[name] for name in columns["features"]],
            "score": verdicts[columns["score"]],
        },
    }


def main() -> None:
    """Run once and print the result as the last line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="the bench's data directory (with frames/)")
    args = parser.parse_args()
    if not (args.workdir / "frames" / "columns.json").exists():
        parser.error(f"{args.workdir / 'frames'} has no columns.json: let drift_bench.py write the frames first")
    result = run(args.workdir)
    result["peak_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
