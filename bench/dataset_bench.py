"""Benchmark: writing the synthetic data set and preparing a user CSV, against the standard library's floor.

Both jobs run before every training: `make deploy` stages the data with them, and so does the demo.
The floor does only the file work (`csv.reader` over the same file, `csv.writer` of the same rows,
no validation, no shuffle, no schema), so the ratio says what our checks cost on top of the I/O.

    .venv/bin/python bench/dataset_bench.py [--rows 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from dataset import prepare_user_csv, write_dataset  # noqa: E402

USER_COLUMNS = ("age", "income", "visits", "bought")


def write_user_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A user file of `rows` rows with the shape of the README's example (one empty cell in 17)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as out:
        out.write(",".join(USER_COLUMNS) + "\n")
        for i in range(rows):
            visits = "" if i % 17 == 0 else str(int(rng.integers(0, 9)))
            out.write(f"{int(rng.integers(18, 80))},{rng.uniform(1e3, 9e4):.3f},{visits},{int(rng.random() < 0.3)}\n")
    return path


def copy_with_csv_module(source: Path, out_dir: Path) -> None:
    """The floor: read every row with `csv.reader` and write it back with `csv.writer`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with source.open(newline="") as inp, (out_dir / "copy.csv").open("w", newline="") as out:
        csv.writer(out).writerows(csv.reader(inp))


def best_and_median(run: Callable[[Path], None], repeat: int) -> tuple[float, float]:
    """Seconds of the fastest and the median of `repeat` runs, each into a fresh directory."""
    seconds = []
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(repeat):
            started = time.perf_counter()
            run(Path(scratch) / str(i))
            seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def main() -> None:
    """Print seconds, rows/s and the ratio to the floor for each job."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        synthetic = Path(scratch) / "synthetic"
        write_dataset(synthetic, rows=args.rows, seed=42)
        synthetic_csv = synthetic / "train.csv"
        user_csv = write_user_csv(Path(scratch) / "user.csv", args.rows)
        jobs = {
            "synthetic data set (write_dataset)": (
                lambda out: write_dataset(out, rows=args.rows, seed=42),
                lambda out: copy_with_csv_module(synthetic_csv, out),
            ),
            "user CSV (prepare_user_csv)": (
                lambda out: prepare_user_csv(user_csv, "bought", out, seed=1),
                lambda out: copy_with_csv_module(user_csv, out),
            ),
        }
        print(f"{args.rows:,} rows, best and median of {args.repeat} runs")
        print(f"{'job':<38} {'ours s':>8} {'median':>8} {'rows/s':>10} {'floor s':>8} {'ours/floor':>10}")
        for name, (ours, floor) in jobs.items():
            best, median = best_and_median(ours, args.repeat)
            floor_best, _ = best_and_median(floor, args.repeat)
            print(
                f"{name:<38} {best:>8.3f} {median:>8.3f} {args.rows / best:>10,.0f} {floor_best:>8.3f} "
                f"{best / floor_best:>9.1f}x"
            )


if __name__ == "__main__":
    main()
