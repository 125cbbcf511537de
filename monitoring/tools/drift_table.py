"""The drift report as a terminal table (rich), for `mlops drift`, and its cells for the demo's HTML report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from monitoring.drift_report import report_columns
from monitoring.drift_stats import NO_DATA

if TYPE_CHECKING:
    from rich.console import Console

_STATUS_STYLE = {"ok": "green", "warn": "yellow", "alert": "bold red", "no_data": "dim"}


def render_report(report: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the report as a terminal table (rich): one row per feature and one for the score."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    window = report.get("window") or {}
    status = report["status"]
    span = "no captured rows" if window.get("start") is None else f"{window['start']} → {window['end']}"
    other = report.get("other_model_rows") or 0
    console.print(
        f"Drift of [bold]{escape(str(report['endpoint']))}[/bold]  {span}  "
        f"rows {report['rows']:,}  skipped lines {report['skipped_lines']:,}"
        + (f"  rows of other models {other:,}" if other else "")
        + f"  status [{_STATUS_STYLE.get(status, '')}]{status}[/]"
    )
    if status == NO_DATA:
        console.print("Too few captured rows in the window to compute drift.")
        return
    columns = report_columns(report)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # Names never truncate: the numeric headers wrap instead on a narrow terminal.
    table.add_column("feature", no_wrap=True, min_width=max(len(c["name"]) for c in columns))
    for header in ("PSI", "JS", "KS", "mean shift (sd)", "missing", "out of range"):
        table.add_column(header, justify="right", no_wrap=False)
    table.add_column("status", no_wrap=True)
    for column in columns:
        table.add_row(
            escape(column["name"]),
            *statistic_cells(column),
            f"[{_STATUS_STYLE[column['status']]}]{column['status']}[/]",
        )
    console.print(table)
    worst = report.get("worst") or {}
    console.print(f"worst: {escape(str(worst.get('name')))} (PSI {_fixed(worst.get('psi'))})")


def statistic_cells(column: Mapping[str, Any]) -> list[str]:
    """PSI, JS, KS, mean shift, missing and out-of-range share of a report column, formatted for a table."""
    return [
        _fixed(column["psi"]),
        _fixed(column["js_distance"]),
        _fixed(column["ks_distance"]),
        _fixed(column["mean_shift_sd"], signed=True),
        _percent(column["missing_share"]),
        _percent(column["out_of_range_share"]),
    ]


def _fixed(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"
