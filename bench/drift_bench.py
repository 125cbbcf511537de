"""Benchmark: our local drift path (capture JSONL → DuckDB → report) vs numpy/scipy streaming vs Evidently.

Generates a reference of 100k rows × 20 features (→ baseline.json) and 1M captured rows with 5
drifted features as hour-partitioned capture JSONL (plus a few truncated lines), then runs each
path in its own process and prints wall time, peak memory (VmHWM), features found and false
alarms. Target (issue 4): 1M rows to report in ≤ 3 s and ≤ 400 MB, 5/5 found, 0 false alarms.

Evidently 0.7.23 (DataDriftPreset, default methods) runs in its own environment (.venv-evidently),
synced from uv.lock's `evidently-tool` member (it needs pandas<3); it reads the same samples as
DataFrames from .npy, so its time leaves out parsing the capture JSONL.

    .venv/bin/python bench/drift_bench.py [--rows 1000000] [--reference 100000] [--workdir DIR] [--repeat 3]
        [--skip-evidently] [--evidently-repeat 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from monitoring.capture import CAPTURE_MARKER, parse_capture_line
from monitoring.tools import synthetic_drift as sd

N_FEATURES = 20
DRIFTED = (0, 6, 12, 13, 19)
HOURS = 24
TRUNCATED_LINES = 100
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
REFERENCE_SEED, CURRENT_SEED, MISSING_SHARE = 1, 2, 0.01

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
EVIDENTLY_MEMBER = "evidently-tool"  # uv.lock's workspace member (tools/evidently/pyproject.toml)
EVIDENTLY_VENV = REPO_ROOT / ".venv-evidently"
EVIDENTLY_SCRIPT = BENCH / "evidently_path.py"
# Bounds: a first sync downloads ~80 wheels; one Evidently run took ~1 min here (anchor: 63 s).
EVIDENTLY_BUILD_TIMEOUT_S = 1200
EVIDENTLY_RUN_TIMEOUT_S = 1200


class EvidentlyUnavailable(RuntimeError):
    """Evidently's venv could not be built or does not import; the message says why."""


def write_frames(
    workdir: Path, reference: np.ndarray, ref_score: np.ndarray, current: np.ndarray, score: np.ndarray
) -> None:
    """Save the raw samples (features + score, NaN = missing) for Evidently, which needs rows, not a baseline."""
    frames = workdir / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    names = sd.feature_names(N_FEATURES)
    np.save(frames / "reference.npy", np.column_stack([reference, ref_score]))
    np.save(frames / "current.npy", np.column_stack([current, score]))
    columns = {"features": names, "score": sd.SCORE_NAME, "all": [*names, sd.SCORE_NAME]}
    (frames / "columns.json").write_text(json.dumps(columns))


def generate(workdir: Path, n_reference: int, n_rows: int) -> None:
    """Write baseline.json and the capture tree (DuckDB writes the JSONL: ~10x faster than json.dumps)."""
    import duckdb

    names = sd.feature_names(N_FEATURES)
    reference, ref_score = sd.sample(n_reference, N_FEATURES, seed=REFERENCE_SEED)
    (workdir / "baseline.json").write_text(json.dumps(sd.baseline_document(reference, ref_score, names)))
    current, score = sd.sample(n_rows, N_FEATURES, seed=CURRENT_SEED, drifted=DRIFTED, missing_share=MISSING_SHARE)
    write_frames(workdir, reference, ref_score, current, score)
    connection = duckdb.connect()
    x_list = ", ".join(f"CASE WHEN isnan(c{j}) THEN NULL ELSE c{j} END" for j in range(N_FEATURES))
    per_hour = math.ceil(n_rows / HOURS)
    for hour in range(HOURS):
        lo, hi = hour * per_hour, min(n_rows, (hour + 1) * per_hour)
        if lo >= hi:
            break
        start = START + timedelta(hours=hour)
        step_ms = 3_600_000 // (hi - lo)
        data = {f"c{j}": np.ascontiguousarray(current[lo:hi, j]) for j in range(N_FEATURES)}
        data["score"] = score[lo:hi]
        data["k"] = np.arange(hi - lo)
        connection.register("data", data)
        target = workdir / "capture" / "capture" / "bench-endpoint" / start.strftime("%Y/%m/%d/%H") / "bench.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        connection.execute(
            f"""COPY (
                SELECT 1 AS v,
                       strftime(TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_milliseconds(k * {step_ms}),
                                '%Y-%m-%dT%H:%M:%S.%gZ') AS ts,
                       'req-{hour:02d}-' || (k // 100) AS request_id, 'bench-model' AS model_id,
                       (k % 100)::INTEGER AS i, 100 AS n, [{x_list}] AS x, score
                FROM data ORDER BY k
            ) TO '{target}' (FORMAT JSON)"""
        )
        connection.unregister("data")
    first = next((workdir / "capture").rglob("*.jsonl"))
    with first.open() as handle:
        lines = [handle.readline() for _ in range(1000)]
    # The generated lines are capture records by the contract's own parser.
    assert all(parse_capture_line(f"{CAPTURE_MARKER} {line}") for line in lines)
    with first.open("a") as handle:
        for line in lines[:TRUNCATED_LINES]:
            handle.write(line[: len(line) // 2] + "\n")


def child_ours(workdir: Path) -> dict[str, Any]:
    """Our path: the same function `mlops drift` calls."""
    from mlops_core.settings import Settings
    from monitoring.baseline import load_baseline
    from monitoring.drift_stats import DriftThresholds
    from monitoring.tools.drift_engine_local import run_local_drift

    started = time.perf_counter()
    baseline = load_baseline(workdir / "baseline.json")
    report = run_local_drift(baseline, workdir / "capture", DriftThresholds.from_settings(Settings()))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "report": report}


def child_numpy(workdir: Path) -> dict[str, Any]:
    """The plain way: stream the JSONL with json.loads, bin with numpy, distances with scipy."""
    from scipy.spatial.distance import jensenshannon

    from mlops_core.settings import Settings

    settings = Settings()
    started = time.perf_counter()
    baseline = json.loads((workdir / "baseline.json").read_text())
    rows: list[list[float | None]] = []
    scores: list[float] = []
    skipped = 0
    for path in sorted((workdir / "capture").rglob("*.jsonl")):
        with path.open() as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    x, score = record["x"], float(record["score"])
                except (ValueError, KeyError, TypeError):
                    skipped += 1
                    continue
                if len(x) != len(baseline["features"]):
                    skipped += 1
                    continue
                rows.append(x)
                scores.append(score)
    matrix = np.array(rows, dtype=np.float64)  # None -> nan
    del rows
    columns = [*((f, matrix[:, j]) for j, f in enumerate(baseline["features"])), (baseline["score"], np.array(scores))]
    results = []
    for dist, values in columns:
        finite = values[np.isfinite(values)]
        edges = np.array(dist["edges"])
        counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=len(edges) + 1)
        current = counts / len(finite)
        expected = np.array(dist["shares"])
        e, a = np.maximum(expected, 1e-4), np.maximum(current, 1e-4)
        psi = float(np.sum((a - e) * np.log(a / e)))
        shift = float((finite.mean() - dist["mean"]) / dist["std"])
        shifted = abs(shift) >= settings.drift_mean_shift_sd
        if psi >= settings.drift_psi_alert or (shifted and psi >= settings.drift_psi_warn):
            status = "alert"
        elif psi >= settings.drift_psi_warn or shifted:
            status = "warn"
        else:
            status = "ok"
        results.append(
            {
                "name": dist["name"],
                "psi": psi,
                "js_distance": float(jensenshannon(expected, current, base=2)),
                "ks_distance": float(np.max(np.abs(np.cumsum(expected)[:-1] - np.cumsum(current)[:-1]), initial=0.0)),
                "mean_shift_sd": shift,
                "status": status,
            }
        )
    seconds = time.perf_counter() - started
    report = {"rows": len(matrix), "skipped_lines": skipped, "features": results[:-1], "score": results[-1]}
    return {"seconds": seconds, "report": report}


def peak_rss_mb() -> float:
    """Peak resident memory of this process.

    VmHWM belongs to the process's own address space; ru_maxrss would also count the parent's
    memory at fork time (Linux carries it across exec), i.e. the generator's 500 MB.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(kind: str, workdir: Path) -> dict[str, Any]:
    """Run one path in a fresh interpreter; its peak RSS is its own."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    result["process_seconds"] = time.perf_counter() - started
    return result


def median_run(kind: str, workdir: Path, repeat: int) -> dict[str, Any]:
    """The run with the median time among `repeat` runs of one path."""
    runs = sorted((run_child(kind, workdir) for _ in range(repeat)), key=lambda r: r["seconds"])
    return runs[len(runs) // 2]


def ensure_frames(workdir: Path, n_reference: int, n_rows: int) -> None:
    """Write the .npy samples for a workdir generated before they existed (same generator, same seeds)."""
    if (workdir / "frames" / "columns.json").exists():
        return
    reference, ref_score = sd.sample(n_reference, N_FEATURES, seed=REFERENCE_SEED)
    current, score = sd.sample(n_rows, N_FEATURES, seed=CURRENT_SEED, drifted=DRIFTED, missing_share=MISSING_SHARE)
    write_frames(workdir, reference, ref_score, current, score)


def _last_error(log: str) -> str:
    """The line of uv's output that says why it failed, else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["no output"])[-1]


def ensure_evidently_venv() -> Path:
    """Python of Evidently's own environment, synced from uv.lock; raises EvidentlyUnavailable."""
    uv = os.environ.get("UV") or str(REPO_ROOT / ".uv" / "bin" / "uv")
    if not Path(uv).is_file():
        raise EvidentlyUnavailable(f"uv not found at {uv}: run `make install` first")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(EVIDENTLY_VENV), "UV_PREVIEW_FEATURES": "package-conflicts"}
    command = [uv, "sync", "--locked", "--package", EVIDENTLY_MEMBER]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=EVIDENTLY_BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise EvidentlyUnavailable(f"uv sync took over {EVIDENTLY_BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise EvidentlyUnavailable(f"uv sync failed: {_last_error(done.stderr + done.stdout)}")
    print(f"synced Evidently's environment in {time.perf_counter() - started:.1f} s: {EVIDENTLY_VENV}")
    return EVIDENTLY_VENV / "bin" / "python"


def run_evidently(python: Path, workdir: Path) -> dict[str, Any]:
    """One run of bench/evidently_path.py in Evidently's venv; its JSON is the last line of stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["DO_NOT_TRACK"] = "1"  # Evidently's usage telemetry: no network here, and none wanted from a bench
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(EVIDENTLY_SCRIPT), "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=EVIDENTLY_RUN_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {_last_error(done.stderr)}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def summarize(name: str, result: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Figures of one path: time, memory, found drifts, false alarms."""
    drifted = set(sd.feature_names(N_FEATURES)[j] for j in DRIFTED)
    flagged = {f["name"] for f in result["report"]["features"] if f["status"] == "alert"}
    warned = {f["name"] for f in result["report"]["features"] if f["status"] == "warn"}
    return {
        "path": name,
        "seconds": result["seconds"],
        "process_seconds": result["process_seconds"],
        "rows_per_second": n_rows / result["seconds"],
        "peak_mb": result["peak_mb"],
        "found": len(flagged & drifted),
        "false_alarms": len(flagged - drifted),
        "warnings_on_stable": len(warned - drifted),
        "rows": result["report"]["rows"],
        "skipped_lines": result["report"]["skipped_lines"],
    }


def evidently_figures(workdir: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """Evidently's median run, or None after printing why it was skipped."""
    if args.skip_evidently:
        print("SKIPPED evidently: --skip-evidently")
        return None
    try:
        python = ensure_evidently_venv()
    except EvidentlyUnavailable as error:
        print(f"SKIPPED evidently: its venv could not be built: {error}")
        return None
    ensure_frames(workdir, args.reference, args.rows)
    runs = sorted((run_evidently(python, workdir) for _ in range(args.evidently_repeat)), key=lambda r: r["seconds"])
    return runs[len(runs) // 2]


def main() -> None:
    """Generate the data (unless present), run the paths, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, help="where the data is (generated when it lacks baseline.json)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path; the median run is shown")
    parser.add_argument("--skip-evidently", action="store_true", help="leave Evidently out (no venv build)")
    parser.add_argument(
        "--evidently-repeat", type=int, default=1, help="runs of Evidently (about a minute each at 1M rows)"
    )
    parser.add_argument("--child", choices=("ours", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1 or args.evidently_repeat < 1:
        parser.error(f"--repeat and --evidently-repeat must be at least 1, got {args.repeat}, {args.evidently_repeat}")

    if args.child:
        result = child_ours(args.workdir) if args.child == "ours" else child_numpy(args.workdir)
        result["peak_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="drift-bench-"))
    if not (workdir / "baseline.json").exists():
        started = time.perf_counter()
        workdir.mkdir(parents=True, exist_ok=True)
        generate(workdir, args.reference, args.rows)
        # Let writeback finish, so that it does not slow the first timed path.
        os.sync()
        size = sum(p.stat().st_size for p in (workdir / "capture").rglob("*.jsonl"))
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} rows ({size / 1e6:.0f} MB of JSONL) in {took:.1f} s: {workdir}")
    # The machine may be shared: run each path a few times and keep the median run.
    ours = median_run("ours", workdir, args.repeat)
    plain = median_run("numpy", workdir, args.repeat)
    figures = [
        summarize("ours (DuckDB, pure-Python stats)", ours, args.rows),
        summarize("numpy/scipy streaming", plain, args.rows),
    ]
    evidently_failure = ""
    try:
        evidently = evidently_figures(workdir, args)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
        evidently, evidently_failure = None, str(error)
    if evidently is not None:
        figures.append(summarize(f"Evidently {evidently['versions']['evidently']} (from .npy)", evidently, args.rows))

    layout = "{:36} {:>8} {:>9} {:>10} {:>8} {:>6} {:>6} {:>5} {:>8}"
    print(layout.format("path", "seconds", "process s", "rows/s", "peak MB", "found", "false", "warn", "skipped"))
    for f in figures:
        print(
            layout.format(
                f["path"],
                f"{f['seconds']:.2f}",
                f"{f['process_seconds']:.2f}",
                f"{f['rows_per_second']:,.0f}",
                f"{f['peak_mb']:.0f}",
                f"{f['found']}/{len(DRIFTED)}",
                f["false_alarms"],
                f["warnings_on_stable"],
                f["skipped_lines"],
            )
        )
    ours_psi = {f["name"]: f["psi"] for f in ours["report"]["features"]}
    plain_psi = {f["name"]: f["psi"] for f in plain["report"]["features"]}
    gap = max(abs(ours_psi[name] - plain_psi[name]) for name in ours_psi)
    print(f"largest PSI difference between ours and numpy/scipy: {gap:.2e}")
    base = figures[0]
    for other in figures[1:]:
        print(
            f"{other['path']} / ours: {other['seconds'] / base['seconds']:.1f}x the time, "
            f"{other['peak_mb'] / base['peak_mb']:.1f}x the peak memory"
        )
    if evidently is not None:
        methods = sorted({f"{f['method']} >= {f['threshold']:g}" for f in evidently["report"]["features"]})
        flagged = [f["name"] for f in evidently["report"]["features"] if f["status"] == "alert"]
        print(
            f"evidently: {', '.join(methods)}; flagged {', '.join(flagged) or 'nothing'}; "
            f"of its {evidently['seconds']:.1f} s, {evidently['load_seconds']:.1f} s loading the .npy"
        )
    print(f"target: <= 3 s, <= 400 MB, {len(DRIFTED)}/{len(DRIFTED)} found, 0 false alarms")
    if evidently_failure:
        print(f"FAILED evidently: its venv was built but the run failed: {evidently_failure}")
        sys.exit(1)


if __name__ == "__main__":
    main()
