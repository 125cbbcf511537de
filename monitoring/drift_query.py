"""The drift aggregation: one SQL query builder, two dialects (Athena/Trino in the cloud, DuckDB locally).

One pass over the captured rows of a time window yields, per feature and for the score, the
count of values at or below each baseline edge, the count and sum of finite values, the missing
count and the out-of-range count: a few hundred numbers from which `monitoring.drift_stats`
computes every statistic. The same rows are valid in both engines: a row needs a parseable `ts`,
an `x` with one value per baseline feature and a finite `score`; anything else (a truncated or
malformed line, which both JSON readers turn into a row of nulls) is counted as invalid. Valid
rows of another model than the baseline's (when its ids are given) are counted apart and left
out, and so are rows whose `x` has another length than the baseline has features: either means
the baseline does not belong to the captures, which the caller can then say.

Athena reads the Glue table over `capture/<endpoint>/` (partition `dt` = 'yyyy/MM/dd/HH',
projected; columns ts string, request_id string, model_id string, i int, n int,
x array<double>, score double); DuckDB reads the same JSONL files with `read_json`.
Arrays are 1-based in both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitoring.baseline import Baseline, BinnedDistribution
from monitoring.capture import PARTITION_STRFTIME
from monitoring.drift_stats import ColumnCounts

DUCKDB = "duckdb"
ATHENA = "athena"
DIALECTS = (DUCKDB, ATHENA)
# Athena's limit on the query string (StartQueryExecution QueryString: 262144 bytes).
ATHENA_MAX_QUERY_BYTES = 262_144
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,254}")
_RUN_COLUMNS = (
    "records",
    "invalid_records",
    "window_rows",
    "first_ts",
    "last_ts",
    "other_model_rows",
    "other_model_id",
    "other_width_rows",
    "other_width",
)
# DuckDB reads each path as a glob pattern; in brackets these characters match only themselves.
_GLOB_CHARACTERS = re.compile(r"([*?\[])")


@dataclass(frozen=True)
class TimeWindow:
    """A half-open time window [start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time window bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError(f"time window start {self.start} must be before its end {self.end}")

    @classmethod
    def ending(cls, end: datetime, hours: float) -> TimeWindow:
        """Return the window of the `hours` before `end`."""
        return cls(end - timedelta(hours=hours), end)

    def partition_bounds(self) -> tuple[str, str]:
        """Return the first and last `dt` partition (hour) that hold rows of the window."""
        last = self.end - timedelta(microseconds=1)
        return _hour(self.start), _hour(last)

    def as_dict(self) -> dict[str, str]:
        """Return the report's `window` object."""
        return {"start": iso_utc(self.start), "end": iso_utc(self.end)}


def _hour(when: datetime) -> str:
    return when.astimezone(UTC).strftime(PARTITION_STRFTIME)


def iso_utc(when: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, the capture records' own format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.astimezone(UTC).microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _Dialect:
    """The few places where Trino and DuckDB spell things differently."""

    element: Callable[[str, int], str]  # 1-based array element, NULL when out of bounds
    length: Callable[[str], str]
    is_finite: Callable[[str], str]
    parse_ts: Callable[[str], str]  # NULL for an unparseable timestamp, never an error
    ts_literal: Callable[[datetime], str]


_DIALECTS = {
    ATHENA: _Dialect(
        element=lambda array, j: f"element_at({array}, {j})",
        length=lambda array: f"cardinality({array})",
        is_finite=lambda v: f"is_finite({v})",
        parse_ts=lambda col: f"try(from_iso8601_timestamp({col}))",
        ts_literal=lambda when: f"from_iso8601_timestamp('{iso_utc(when)}')",
    ),
    DUCKDB: _Dialect(
        element=lambda array, j: f"{array}[{j}]",
        length=lambda array: f"len({array})",
        is_finite=lambda v: f"isfinite({v})",
        parse_ts=lambda col: f"try_cast({col} AS TIMESTAMPTZ)",
        ts_literal=lambda when: f"TIMESTAMPTZ '{iso_utc(when)}'",
    ),
}


@dataclass(frozen=True)
class ColumnSpec:
    """Where one feature's (or the score's) aggregates are in the result: columns `<prefix>_<what>`."""

    name: str
    prefix: str
    n_edges: int

    def le_columns(self) -> list[str]:
        """Columns counting values `<=` each edge, in edge order."""
        return [f"{self.prefix}_le{k}" for k in range(self.n_edges)]

    def columns(self) -> list[str]:
        """All result columns of this feature."""
        return [
            *self.le_columns(),
            f"{self.prefix}_n",
            f"{self.prefix}_sum",
            f"{self.prefix}_missing",
            f"{self.prefix}_oor",
        ]


@dataclass(frozen=True)
class WindowCounts:
    """The result of the drift query, typed: row totals and per-column counts."""

    records: int  # rows read (in the pruned partitions / files), valid or not
    invalid_records: int  # rows without a parseable ts, a full x or a finite score
    rows: int  # valid rows of the baseline's model inside the window
    first_ts: str | None
    last_ts: str | None
    features: tuple[ColumnCounts, ...]
    score: ColumnCounts
    other_model_rows: int = 0  # valid rows inside the window from a model other than the baseline's
    other_model_id: str | None = None  # one of those models, to name it
    other_width_rows: int = 0  # rows inside the window whose `x` does not have one value per feature
    other_width: int | None = None  # the longest such `x`, to name it


@dataclass(frozen=True)
class DriftQuery:
    """A built drift query and the map from its result columns back to the baseline's features."""

    sql: str
    dialect: str
    features: tuple[ColumnSpec, ...]
    score: ColumnSpec

    def columns(self) -> list[str]:
        """Every result column, in SELECT order."""
        names = [*_RUN_COLUMNS]
        for spec in (*self.features, self.score):
            names.extend(spec.columns())
        return names

    def parse_row(self, row: Mapping[str, Any]) -> WindowCounts:
        """Type the single result row, given as {column: value}.

        Values may be Python numbers (DuckDB) or strings (Athena's GetQueryResults); a NULL
        (None, or a missing key) is a zero count or a zero sum (SUM over no rows is NULL).
        """
        absent = [c for c in self.columns() if c not in row]
        if absent:
            raise ValueError(f"drift query result lacks column(s): {', '.join(absent[:5])}")
        other_width = _text(row["other_width"])
        return WindowCounts(
            records=_int(row["records"]),
            invalid_records=_int(row["invalid_records"]),
            rows=_int(row["window_rows"]),
            first_ts=_text(row["first_ts"]),
            last_ts=_text(row["last_ts"]),
            features=tuple(_column_counts(spec, row) for spec in self.features),
            score=_column_counts(self.score, row),
            other_model_rows=_int(row["other_model_rows"]),
            other_model_id=_text(row["other_model_id"]),
            other_width_rows=_int(row["other_width_rows"]),
            other_width=None if other_width is None else _int(other_width),
        )


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    return int(value)


def _float(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _column_counts(spec: ColumnSpec, row: Mapping[str, Any]) -> ColumnCounts:
    return ColumnCounts(
        le_counts=tuple(_int(row[c]) for c in spec.le_columns()),
        count=_int(row[f"{spec.prefix}_n"]),
        total=_float(row[f"{spec.prefix}_sum"]),
        missing=_int(row[f"{spec.prefix}_missing"]),
        out_of_range=_int(row[f"{spec.prefix}_oor"]),
    )


def athena_table(database: str, table: str) -> str:
    """Return the FROM clause of the Glue capture table, identifiers checked and quoted."""
    for kind, name in (("database", database), ("table", table)):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"Glue {kind} name must be lowercase letters, digits and underscores, got {name!r}")
    return f'"{database}"."{table}"'


def duckdb_files(paths: Sequence[Path | str]) -> str:
    """Return the FROM clause reading capture JSONL files; malformed lines become rows of nulls.

    A file name is a name, never a pattern: `*`, `?` and `[` in it are escaped, so a file called
    `a[1].jsonl` is read once and `*.jsonl` does not read every file beside it.
    """
    if not paths:
        raise ValueError("DuckDB drift query needs at least one capture file")
    quoted = ", ".join(_string(_literal_path(str(p))) for p in paths)
    return (
        f"read_json([{quoted}], format = 'newline_delimited', ignore_errors = true, "
        "columns = {ts: 'VARCHAR', model_id: 'VARCHAR', x: 'DOUBLE[]', score: 'DOUBLE'})"
    )


def _literal_path(path: str) -> str:
    """`path` as a DuckDB glob that matches only itself."""
    if _GLOB_CHARACTERS.search(path) is None:
        return path  # DuckDB opens a path without pattern characters as it is
    if "\\" in path:  # a pattern turns it into a separator, and no bracket escapes that
        raise ValueError(f"DuckDB cannot read {path!r}: it holds both a backslash and one of * ? [; rename it")
    return _GLOB_CHARACTERS.sub(r"[\1]", path)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _double(value: float) -> str:
    """Spell a double literal for both dialects (exponent form: a plain `0.1` is a DECIMAL)."""
    text = repr(float(value))
    return text if "e" in text else f"{text}e0"


def build_drift_query(
    baseline: Baseline,
    dialect: str,
    source: str,
    window: TimeWindow | None,
    model_ids: Sequence[str] = (),
) -> DriftQuery:
    """Build the drift aggregation over `source` (`athena_table` or `duckdb_files`) in `window`.

    Athena needs a window: its `dt` bounds let partition projection read only those hours.
    Without a window (DuckDB only) every row read counts. With `model_ids`, only rows whose
    `model_id` is one of them count; the others are counted as `other_model_rows`.
    """
    if dialect not in _DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    d = _DIALECTS[dialect]
    if dialect == ATHENA and window is None:
        raise ValueError("an Athena drift query needs a time window (it bounds the partitions read)")
    n_features = len(baseline.features)
    features = tuple(ColumnSpec(f.name, f"f{j}", len(f.edges)) for j, f in enumerate(baseline.features, start=1))
    score = ColumnSpec(baseline.score.name, "s", len(baseline.score.edges))

    where = ""
    in_window = "t IS NOT NULL"
    if window is not None:
        in_window = f"t >= {d.ts_literal(window.start)} AND t < {d.ts_literal(window.end)}"
        if dialect == ATHENA:
            first, last = window.partition_bounds()
            where = f"\n  WHERE dt >= '{first}' AND dt <= '{last}'"
    # The model filter costs a string column per row: only a query that filters reads model_id.
    model = ", model_id" if model_ids else ""
    own_model = f"model_id IN ({', '.join(_string(m) for m in model_ids)})" if model_ids else "true"
    values = [
        f"CASE WHEN keep AND {d.is_finite(d.element('x', j))} THEN {d.element('x', j)} END AS f{j}"
        for j in range(1, n_features + 1)
    ]
    values.append("CASE WHEN keep THEN score END AS s")
    aggregates = [
        "count(*) AS records",
        "count_if(NOT valid) AS invalid_records",
        "count_if(keep) AS window_rows",
        "min(CASE WHEN keep THEN ts END) AS first_ts",
        "max(CASE WHEN keep THEN ts END) AS last_ts",
        "count_if(other_model) AS other_model_rows",
        "min(CASE WHEN other_model THEN model_id END) AS other_model_id"
        if model_ids
        else "CAST(NULL AS VARCHAR) AS other_model_id",
        "count_if(other_width) AS other_width_rows",
        "max(CASE WHEN other_width THEN n_x END) AS other_width",
    ]
    for spec, dist in zip((*features, score), (*baseline.features, baseline.score), strict=True):
        aggregates.extend(_column_aggregates(spec, dist))
    newline = ",\n  "
    sql = (
        f"WITH parsed AS (\n  SELECT ts, x, score{model}, {d.parse_ts('ts')} AS t\n  FROM {source}{where}\n),\n"
        f"checked AS (\n  SELECT ts, x, score{model}, t, {d.length('x')} AS n_x, coalesce(t IS NOT NULL "
        f"AND x IS NOT NULL AND {d.length('x')} = {n_features} AND {d.is_finite('score')}, false) AS valid,\n"
        f"  coalesce({in_window}, false) AS in_window, coalesce({own_model}, false) AS own_model\n  FROM parsed\n),\n"
        f"flagged AS (\n  SELECT ts, x, score{model}, valid, n_x, valid AND in_window AND own_model AS keep,\n"
        f"  valid AND in_window AND NOT own_model AS other_model,\n"
        f"  in_window AND coalesce(n_x <> {n_features}, false) AS other_width\n  FROM checked\n),\n"
        f"cols AS (\n  SELECT ts{model}, valid, keep, other_model, other_width, n_x,\n  {newline.join(values)}\n"
        "  FROM flagged\n)\n"
        f"SELECT\n  {newline.join(aggregates)}\nFROM cols\n"
    )
    if dialect == ATHENA and len(sql.encode()) > ATHENA_MAX_QUERY_BYTES:
        raise ValueError(
            f"drift query is {len(sql.encode())} bytes, over Athena's limit of {ATHENA_MAX_QUERY_BYTES}: "
            "too many features or edges"
        )
    return DriftQuery(sql, dialect, features, score)


def _column_aggregates(spec: ColumnSpec, dist: BinnedDistribution) -> list[str]:
    v = spec.prefix
    parts = [
        f"count_if({v} <= {_double(edge)}) AS {column}"
        for edge, column in zip(dist.edges, spec.le_columns(), strict=True)
    ]
    lo, hi = dist.range
    outside = [
        f"{v} < {_double(lo)}" if lo is not None else "",
        f"{v} > {_double(hi)}" if hi is not None else "",
    ]
    outside_sql = " OR ".join(c for c in outside if c) or "false"
    parts += [
        f"count({v}) AS {v}_n",
        f"sum({v}) AS {v}_sum",
        f"count_if(keep AND {v} IS NULL) AS {v}_missing",
        f"count_if({outside_sql}) AS {v}_oor",
    ]
    return parts
