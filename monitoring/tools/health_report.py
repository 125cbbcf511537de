"""Show a `HealthReport`: a terminal summary (rich) and an HTML page with plots (`HtmlReport`).

Both views are built from the same rows (`metric_rows`, `alarm_rows`, ...), so the terminal and
the page never disagree. Numbers are in the units people read: ms and percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitoring.tools.health.alarms import ALARM
from monitoring.tools.health.deployment import IN_SERVICE
from monitoring.tools.health.endpoint_metrics import Series
from monitoring.tools.health.report import HealthReport
from monitoring.tools.html_report import Card, Cell, HtmlReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console

OK, WARN, ALERT, MUTED = "ok", "warn", "alert", "muted"
_DRIFT_STATUS = {"ok": OK, "warn": WARN, "alert": ALERT, "no_data": MUTED}
_ALARM_STATUS = {"OK": OK, ALARM: ALERT, "INSUFFICIENT_DATA": MUTED}
_RICH_STYLE = {OK: "green", WARN: "yellow", ALERT: "bold red", MUTED: "dim", None: ""}


# --- formatting --------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.2f} ms"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f} %"


def _time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _above(value: float | None, threshold: float) -> str:
    if value is None:
        return MUTED
    return ALERT if value > threshold else OK


# --- rows shared by both views --------------------------------------------------------------------------


def metric_rows(report: HealthReport) -> list[tuple[str, str, str, str]]:
    """(metric, value, alarm threshold, status) per endpoint metric; empty without metrics."""
    metrics, t = report.metrics, report.thresholds
    if metrics is None:
        return []
    lat = metrics.latency
    if metrics.percentiles_available:
        percentiles = f"{_ms(lat.p50_ms)} / {_ms(lat.p90_ms)} / {_ms(lat.p99_ms)}"
    else:
        percentiles = "unavailable (see notes)" if lat.samples else "-"
    error_threshold = f"> {t.error_rate_percent:g} %"
    return [
        ("invocations", f"{metrics.invocations:,}", "", OK if metrics.has_traffic else MUTED),
        ("model latency avg / max", f"{_ms(lat.average_ms)} / {_ms(lat.maximum_ms)}",
         f"avg > {t.latency_ms:,.0f} ms", _above(lat.average_ms, t.latency_ms)),
        ("model latency p50 / p90 / p99", percentiles, "", OK if metrics.percentiles_available else MUTED),
        ("overhead latency avg / max", f"{_ms(metrics.overhead.average_ms)} / {_ms(metrics.overhead.maximum_ms)}",
         "", MUTED if metrics.overhead.samples == 0 else OK),
        ("4XX error rate", f"{_percent(metrics.client_error_rate)} ({metrics.client_errors:,})", error_threshold,
         _above(_to_percent(metrics.client_error_rate), t.error_rate_percent)),
        ("5XX error rate", f"{_percent(metrics.server_error_rate)} ({metrics.server_errors:,})", error_threshold,
         _above(_to_percent(metrics.server_error_rate), t.error_rate_percent)),
        ("cold starts (count, avg / max)",
         f"{metrics.cold_starts:,}, {_ms(metrics.cold_start_avg_ms)} / {_ms(metrics.cold_start_max_ms)}",
         f"max > {t.cold_start_ms:,.0f} ms", _above(metrics.cold_start_max_ms, t.cold_start_ms)),
        ("memory utilization avg / max",
         f"{_number(metrics.memory_avg_percent, 1)} % / {_number(metrics.memory_max_percent, 1)} %", "",
         MUTED if metrics.memory_max_percent is None else OK),
    ]  # fmt: skip


def _to_percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100 * fraction


def alarm_rows(report: HealthReport) -> list[tuple[str, str, str, str, str]]:
    """(alarm, state, since, reason, status) per alarm."""
    return [
        (a.short_name, a.state, _time(a.updated), a.reason, _ALARM_STATUS.get(a.state, MUTED)) for a in report.alarms
    ]


def drift_rows(report: HealthReport) -> list[tuple[str, str, str, str, str, str, str]]:
    """(feature, PSI, JS, KS, mean shift, out of range, status) per feature and the score, worst PSI first."""
    drift = report.drift.report if report.drift else None
    if not drift:
        return []
    columns = [*(drift.get("features") or []), *([drift["score"]] if drift.get("score") else [])]
    columns.sort(key=lambda c: -(c.get("psi") or 0.0))
    return [
        (
            c["name"],
            _number(c.get("psi")),
            _number(c.get("js_distance")),
            _number(c.get("ks_distance")),
            "-" if c.get("mean_shift_sd") is None else f"{c['mean_shift_sd']:+.2f}",
            _percent(c.get("out_of_range_share")),
            c.get("status", "-"),
        )
        for c in columns
    ]


def registry_rows(report: HealthReport) -> list[tuple[str, str]]:
    """(field, value) of the newest approved version and what the endpoint serves."""
    reg = report.registry
    if reg is None:
        return []
    rows = [
        ("model package group", reg.group),
        ("newest approved version", str(reg.version) if reg.version is not None else reg.arn),
        ("created", _time(reg.created)),
        ("training job", reg.training_job or "-"),
    ]
    rows += [(f"validation {name}", f"{value:.4f}") for name, value in sorted(reg.metrics.items())]
    served = report.endpoint.served_package_arn if report.endpoint else None
    if served:
        rows.append(("served by the endpoint", "this version" if served == reg.arn else served))
    if reg.note:
        rows.append(("note", reg.note))
    return rows


def notes(report: HealthReport) -> list[str]:
    """Remarks that are not problems: fallbacks, missing drift report, a stale served version."""
    found = list(report.metrics.notes) if report.metrics else []
    if report.metrics is not None and not report.metrics.has_traffic:
        found.append("No invocations in the window: an idle serverless endpoint publishes no metrics.")
    if report.drift is not None and report.drift.error:
        found.append(f"Drift: {report.drift.error} ({report.drift.uri}).")
    if report.registry is None and not any("registry" in e for e in report.errors):
        found.append(f"No approved version in model package group {report.targets.model_package_group}.")
    served = report.endpoint.served_package_arn if report.endpoint else None
    if served and report.registry and served != report.registry.arn:
        found.append("The endpoint does not serve the newest approved version: deploy the endpoint stack again.")
    if not report.alarms and not any("alarms" in e for e in report.errors):
        found.append(f"No alarms named {report.targets.alarm_prefix}*: is the observability stack deployed?")
    return found


def _headline(report: HealthReport) -> str:
    hours = (report.window.end - report.window.start).total_seconds() / 3600
    return (
        f"{report.targets.endpoint} in {report.region}, last {hours:g} h "
        f"({_time(report.window.start)} to {_time(report.window.end)})"
    )


# --- terminal -------------------------------------------------------------------------------------------------


def render_health(report: HealthReport, console: Console | None = None) -> None:
    """Print the report as a terminal summary."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    verdict = "[bold green]HEALTHY[/]" if report.healthy else "[bold red]UNHEALTHY[/]"
    console.print(f"Health of [bold]{_headline(report)}[/bold]: {verdict}")
    if report.endpoint is not None:
        style = "green" if report.endpoint.status == IN_SERVICE else "bold red"
        console.print(f"Endpoint status: [{style}]{report.endpoint.status}[/]")

    def table(
        title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], status_at: int | None, colour: int = 1
    ) -> None:
        """Rows whose cell `status_at` is a status, which colours the cell at `colour` (after removal)."""
        grid = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for header in headers:
            grid.add_column(header, overflow="fold")
        for row in rows:
            cells = list(row)
            status = cells.pop(status_at) if status_at is not None else None
            # Alarm reasons and names are data, not markup: "[0.1]" or "[x]" must print as written.
            cells = [escape(cell) for cell in cells]
            if status is not None:
                cells[colour] = f"[{_RICH_STYLE.get(status, '')}]{cells[colour]}[/]"
            grid.add_row(*cells)
        console.print(grid)

    if report.metrics is not None:
        table("Endpoint metrics", ("metric", "value", "alarm when"), metric_rows(report), 3)
    if report.alarms:
        table("Alarms", ("alarm", "state", "since", "reason"), alarm_rows(report), 4)
    if report.drift is not None and report.drift.report:
        drift = report.drift.report
        worst = drift.get("worst") or {}
        style = _RICH_STYLE.get(_DRIFT_STATUS.get(drift["status"]), "")
        console.print(
            f"Drift ({_time(report.drift.written)}): [{style}]{drift['status']}[/], rows {drift.get('rows', 0):,}, "
            f"worst {escape(str(worst.get('name', '-')))} (PSI {_number(worst.get('psi'))})"
        )
        rows = [(*row, _DRIFT_STATUS.get(row[-1], MUTED)) for row in drift_rows(report)]
        if rows:
            headers = ("feature", "PSI", "JS", "KS", "mean shift sd", "out of range", "status")
            table("Drift per feature (worst first)", headers, rows[:10], status_at=7, colour=6)
    if report.registry is not None:
        table("Model registry", ("", "value"), registry_rows(report), None)
    for note in notes(report):
        console.print(f"[dim]note:[/] {escape(note)}")
    for problem in report.problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}")


# --- HTML -------------------------------------------------------------------------------------------------------


def health_html(report: HealthReport) -> HtmlReport:
    """The report as an HTML page: cards, tables and plots of every series that has data."""
    page = HtmlReport(f"Health of {report.targets.endpoint}", subtitle=_headline(report))
    page.add_cards(_cards(report))
    if report.problems:
        page.add_heading("Problems").add_list(report.problems)

    page.add_heading("Endpoint")
    rows = metric_rows(report)
    page.add_table(
        ["metric", "value", "alarm when"],
        [[name, Cell(value, status), threshold] for name, value, threshold, status in rows],
        empty_text="no metrics could be read",
    )
    if report.metrics is not None and report.metrics.has_traffic:
        for figure, caption in _metric_figures(report):
            page.add_figure(figure, caption)

    page.add_heading("Alarms")
    page.add_table(
        ["alarm", "state", "since", "reason"],
        [[name, Cell(state, status), since, reason] for name, state, since, reason, status in alarm_rows(report)],
        empty_text="no alarms found",
    )

    page.add_heading("Drift")
    drift = report.drift.report if report.drift else None
    if drift:
        worst = drift.get("worst") or {}
        window = drift.get("window") or {}
        page.add_paragraph(
            f"Status {drift['status']} over {drift.get('rows', 0):,} captured rows "
            f"({window.get('start')} to {window.get('end')}); worst {worst.get('name', '-')} "
            f"with PSI {_number(worst.get('psi'))}. Report: {report.drift.uri if report.drift else ''}",
            _DRIFT_STATUS.get(drift["status"]),
        )
        page.add_table(
            ["feature", "PSI", "JS", "KS", "mean shift (sd)", "out of range", "status"],
            [[*row[:-1], Cell(row[-1], _DRIFT_STATUS.get(row[-1]))] for row in drift_rows(report)],
            empty_text="too few rows for statistics",
        )
        figure = _drift_figure(report)
        if figure is not None:
            page.add_figure(figure, "PSI per feature of the latest drift report")
    else:
        page.add_paragraph(report.drift.error if report.drift and report.drift.error else "no drift report", "muted")

    page.add_heading("Model registry")
    page.add_table(["", "value"], registry_rows(report), empty_text="no approved version")
    found = notes(report)
    if found:
        page.add_heading("Notes").add_list(found)
    return page


def write_health_html(report: HealthReport, path: str | Path) -> Path:
    """Render and write the HTML page."""
    return health_html(report).write(path)


def _cards(report: HealthReport) -> list[Card]:
    metrics, t = report.metrics, report.thresholds
    firing = len(report.alarms_firing)
    cards = [
        Card("Overall", "healthy" if report.healthy else "unhealthy", f"{len(report.problems)} problem(s)",
             OK if report.healthy else ALERT),
        Card("Endpoint", report.endpoint.status if report.endpoint else "unknown", report.targets.endpoint,
             OK if report.endpoint and report.endpoint.status == IN_SERVICE else ALERT),
        Card("Alarms", f"{firing} in ALARM", f"of {len(report.alarms)}", ALERT if firing else OK),
    ]  # fmt: skip
    if metrics is not None:
        lat = metrics.latency
        latency_status = _above(lat.average_ms, t.latency_ms)
        if metrics.percentiles_available:
            latency = Card(
                "Latency p50 / p99", f"{_ms(lat.p50_ms)} / {_ms(lat.p99_ms)}", "ModelLatency", latency_status
            )
        else:
            latency = Card("Latency avg / max", f"{_ms(lat.average_ms)} / {_ms(lat.maximum_ms)}", "no percentiles",
                           latency_status)  # fmt: skip
        cards += [
            Card("Invocations", f"{metrics.invocations:,}", f"period {metrics.period_seconds // 60} min", "info"),
            latency,
            Card("5XX error rate", _percent(metrics.server_error_rate), f"{metrics.server_errors:,} errors",
                 _above(_to_percent(metrics.server_error_rate), t.error_rate_percent)),
            Card("4XX error rate", _percent(metrics.client_error_rate), f"{metrics.client_errors:,} errors",
                 _above(_to_percent(metrics.client_error_rate), t.error_rate_percent)),
            Card("Cold starts", f"{metrics.cold_starts:,}", f"max {_ms(metrics.cold_start_max_ms)}",
                 _above(metrics.cold_start_max_ms, t.cold_start_ms)),
        ]  # fmt: skip
    drift = report.drift.report if report.drift else None
    if drift:
        cards.append(
            Card("Drift", drift["status"], f"{drift.get('rows', 0):,} rows", _DRIFT_STATUS.get(drift["status"]))
        )
    if report.registry is not None:
        auc = report.registry.metrics.get("auc")
        cards.append(Card("Model version", str(report.registry.version), f"AUC {_number(auc)}", "info"))
    return cards


# --- figures -------------------------------------------------------------------------------------------------


def _new_figure(rows: int = 1, height: float = 3.2) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height * rows), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return figure, axes


def _plot(axis: Any, series: Series | None, label: str, **style: Any) -> bool:
    if series is None or not len(series):
        return False
    axis.plot(list(series.timestamps), list(series.values), label=label, marker=".", **style)
    return True


def _finish(axis: Any, title: str, ylabel: str) -> None:
    import matplotlib.dates as mdates

    axis.set_title(title, loc="left", fontsize=11)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(axis.xaxis.get_major_locator()))
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=8, loc="upper left")


def _metric_figures(report: HealthReport) -> list[tuple[Figure, str]]:
    """Traffic and errors, latency, cold starts and memory: one figure each, only series with data."""
    assert report.metrics is not None
    s, t = report.metrics.series, report.thresholds
    window = (report.window.start, report.window.end)
    figures: list[tuple[Figure, str]] = []

    figure, (traffic, errors) = _new_figure(2)
    if "invocations" in s:
        width = report.metrics.period_seconds / 86400 * 0.8  # bar width in days, matplotlib's date unit
        traffic.bar(list(s["invocations"].timestamps), list(s["invocations"].values), width=width, color="#0969da")
    _finish(traffic, "Invocations per period", "requests")
    _plot(errors, s.get("client_error_percent"), "4XX")
    _plot(errors, s.get("server_error_percent"), "5XX")
    errors.axhline(t.error_rate_percent, color="#cf222e", linestyle="--", linewidth=1, label="alarm")
    _finish(errors, "Error rate", "%")
    errors.set_xlim(*window)
    figures.append((figure, "Traffic and error rates (share of requests per period)"))

    figure, (latency,) = _new_figure(1, 3.6)
    _plot(latency, s.get("latency_avg_ms"), "average")
    _plot(latency, s.get("latency_max_ms"), "maximum", alpha=0.6)
    for p in ("p50", "p90", "p99"):
        _plot(latency, s.get(f"latency_{p}_ms"), p, linestyle=":")
    latency.axhline(t.latency_ms, color="#cf222e", linestyle="--", linewidth=1, label="alarm (average)")
    peak = max((v for name, ser in s.items() if name.startswith("latency") for v in ser.values), default=0.0)
    if peak < t.latency_ms / 5:
        # The alarm line far above the data would squash it flat; say where it is instead.
        latency.set_ylim(0, peak * 1.2 or 1)
        latency.lines[-1].set_label(f"alarm at {t.latency_ms:,.0f} ms (off scale)")
    latency.set_xlim(*window)
    _finish(latency, "Model latency", "ms")
    figures.append((figure, "ModelLatency per period in milliseconds (CloudWatch publishes microseconds)"))

    if "cold_starts" in s or "memory_max_percent" in s:
        figure, (cold, memory) = _new_figure(2)
        _plot(cold, s.get("cold_start_max_ms"), "slowest cold start")
        cold.axhline(t.cold_start_ms, color="#cf222e", linestyle="--", linewidth=1, label="alarm")
        cold.set_ylim(bottom=0)
        _finish(cold, "Cold starts (ModelSetupTime)", "ms")
        _plot(memory, s.get("memory_avg_percent"), "average")
        _plot(memory, s.get("memory_max_percent"), "maximum")
        memory.set_ylim(0, 100)
        _finish(memory, "Memory utilization", "%")
        memory.set_xlim(*window)
        figures.append((figure, "Cold starts and memory utilization"))
    return figures


def _drift_figure(report: HealthReport) -> Figure | None:
    drift = report.drift.report if report.drift else None
    columns = [*(drift.get("features") or []), *([drift["score"]] if drift and drift.get("score") else [])]
    columns = [c for c in columns if c.get("psi") is not None]
    if not columns:
        return None
    from matplotlib.figure import Figure

    colours = {"ok": "#1a7f37", "warn": "#9a6700", "alert": "#cf222e"}
    figure = Figure(figsize=(10, 0.32 * len(columns) + 1.2), layout="constrained")
    axis = figure.subplots()
    names = [c["name"] for c in columns]
    axis.barh(names, [c["psi"] for c in columns], color=[colours.get(c.get("status"), "#6e7781") for c in columns])
    axis.axvline(report.thresholds.psi_warn, color="#9a6700", linestyle="--", linewidth=1, label="warn")
    axis.axvline(report.thresholds.psi_alert, color="#cf222e", linestyle="--", linewidth=1, label="alert")
    axis.invert_yaxis()
    axis.set_xlabel("PSI")
    axis.grid(axis="x", alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    return figure
