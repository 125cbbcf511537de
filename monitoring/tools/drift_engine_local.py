"""The local drift engine: the drift query in DuckDB over capture files on disk (`mlops drift`).

The same query builder and statistics as the drift Lambda, only the engine differs. Malformed
or truncated lines never stop a run: DuckDB's `read_json(ignore_errors = true)` turns each into
a row of nulls, which the query counts as invalid and the report shows as `skipped_lines`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitoring.baseline import Baseline
from monitoring.drift_query import DUCKDB, TimeWindow, WindowCounts, build_drift_query, duckdb_files
from monitoring.drift_report import build_report
from monitoring.drift_stats import ColumnCounts, DriftThresholds

_HOUR_DIRS = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}")


class CaptureReadError(ValueError):
    """The capture files cannot be read (missing, unreadable, or not what DuckDB can parse at all)."""


def capture_files(path: Path, window: TimeWindow | None = None) -> list[Path]:
    """List the capture files to read: `path` itself, or every `*.jsonl` below it.

    With a window, files in hour directories (`…/YYYY/MM/DD/HH/`) outside it are left out, the
    way partition projection prunes in Athena; files elsewhere are always read.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CaptureReadError(f"capture path not found: {path}")
    try:
        files = sorted(p for p in path.rglob("*.jsonl") if not p.name.startswith(".") and p.is_file())
    except OSError as exc:
        raise CaptureReadError(f"cannot list the capture files under {path} ({exc.strerror or exc})") from None
    if window is None:
        return files
    first, last = window.partition_bounds()
    kept = []
    for file in files:
        match = _HOUR_DIRS.fullmatch("/".join(file.parent.parts[-4:]))
        if match is None or first <= match.group(0) <= last:
            kept.append(file)
    return kept


def _empty_counts(baseline: Baseline) -> WindowCounts:
    def empty(n_edges: int) -> ColumnCounts:
        return ColumnCounts((0,) * n_edges, 0, 0.0, 0, 0)

    return WindowCounts(
        records=0,
        invalid_records=0,
        rows=0,
        first_ts=None,
        last_ts=None,
        features=tuple(empty(len(f.edges)) for f in baseline.features),
        score=empty(len(baseline.score.edges)),
    )


def window_counts(
    baseline: Baseline, files: list[Path], window: TimeWindow | None, model_ids: Sequence[str] = ()
) -> WindowCounts:
    """Run the drift aggregation in DuckDB over `files` (no files: all counts zero).

    The session runs in UTC, as Athena does: a capture time without an offset is UTC in both,
    whatever this machine's time zone. A file DuckDB cannot read is a `CaptureReadError`.
    """
    if not files:
        return _empty_counts(baseline)
    import duckdb

    query = build_drift_query(baseline, DUCKDB, duckdb_files(files), window, model_ids)
    try:
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            cursor = connection.execute(query.sql)
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CaptureReadError(f"DuckDB could not read the capture files: {first_line}") from None
    if row is None:
        raise RuntimeError("DuckDB returned no row for the drift aggregation")
    return query.parse_row(dict(zip(names, row, strict=True)))


def run_local_drift(
    baseline: Baseline,
    capture_path: Path,
    thresholds: DriftThresholds,
    *,
    endpoint: str = "local",
    window: TimeWindow | None = None,
    model_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Compute the drift report (docs/contracts.md) of the capture files under `capture_path`.

    With `model_ids`, only rows of those models count (see `build_drift_query`).
    """
    files = capture_files(capture_path, window)
    counts = window_counts(baseline, files, window, model_ids)
    return build_report(baseline, counts, thresholds, endpoint=endpoint, window=window)
