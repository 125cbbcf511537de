"""A small, self-contained HTML report: headings, text, summary cards, tables and matplotlib figures.

One file, no external assets: CSS is inline and figures are embedded as base64 PNG data URIs, so
the report can be mailed, attached to a CI run or opened from disk. Every text is HTML-escaped.
`mlops monitor` and the demo build their reports with it:

    report = HtmlReport("Endpoint health", subtitle="last 24 h")
    report.add_cards([Card("Invocations", "1,234"), Card("Alarms", "1 in ALARM", status="alert")])
    report.add_table(["alarm", "state"], [["latency", Cell("OK", "ok")]], caption="Alarms")
    report.add_figure(fig, caption="Latency (ms)")
    report.write("report.html")

Statuses (`ok`, `warn`, `alert`, `info`, `muted`) colour cards and cells.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STATUSES = ("ok", "warn", "alert", "info", "muted")
FIGURE_DPI = 110


class HtmlReportError(ValueError):
    """A report part was given something it cannot show; the message says which part and why."""


@dataclass(frozen=True)
class Card:
    """A summary card: a label, a big value and an optional line of detail, coloured by status."""

    label: str
    value: str
    detail: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        _check_status(self.status, f"card {self.label!r}")


@dataclass(frozen=True)
class Cell:
    """A table cell whose text is coloured by a status (plain strings and numbers are cells too)."""

    text: str
    status: str | None = None

    def __post_init__(self) -> None:
        _check_status(self.status, f"cell {self.text!r}")


CellValue = Cell | str | int | float | None


def _check_status(status: str | None, what: str) -> None:
    if status is not None and status not in STATUSES:
        raise HtmlReportError(f"{what}: status must be one of {', '.join(STATUSES)}, got {status!r}")


def figure_data_uri(figure: Figure, dpi: int = FIGURE_DPI) -> str:
    """Render a matplotlib figure to a `data:image/png;base64,...` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class HtmlReport:
    """Builds one HTML page part by part; every `add_*` returns the report, so calls chain."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        if not title.strip():
            raise HtmlReportError("the report needs a non-empty title")
        self.title = title
        self.subtitle = subtitle
        self._parts: list[str] = []
        self.figure_count = 0

    def add_heading(self, text: str) -> HtmlReport:
        """Start a section."""
        self._parts.append(f"<h2>{_e(text)}</h2>")
        return self

    def add_paragraph(self, text: str, status: str | None = None) -> HtmlReport:
        """A paragraph of plain text, optionally coloured by a status."""
        _check_status(status, "paragraph")
        self._parts.append(f"<p{_class(status)}>{_e(text)}</p>")
        return self

    def add_list(self, items: Iterable[str]) -> HtmlReport:
        """A bulleted list of plain-text items (nothing is added for an empty list)."""
        entries = [f"<li>{_e(item)}</li>" for item in items]
        if entries:
            self._parts.append("<ul>" + "".join(entries) + "</ul>")
        return self

    def add_cards(self, cards: Sequence[Card]) -> HtmlReport:
        """A row of summary cards."""
        if not cards:
            return self
        blocks = []
        for card in cards:
            detail = f'<div class="detail">{_e(card.detail)}</div>' if card.detail else ""
            status = f" {card.status}" if card.status else ""
            blocks.append(
                f'<div class="card{status}"><div class="label">{_e(card.label)}</div>'
                f'<div class="value">{_e(card.value)}</div>{detail}</div>'
            )
        self._parts.append('<div class="cards">' + "".join(blocks) + "</div>")
        return self

    def add_table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[CellValue]],
        caption: str | None = None,
        empty_text: str = "nothing to show",
    ) -> HtmlReport:
        """A table; numbers are right-aligned, None shows as a dash, a `Cell` carries a status."""
        if not headers:
            raise HtmlReportError("a table needs at least one column header")
        for number, row in enumerate(rows, start=1):
            if len(row) != len(headers):
                raise HtmlReportError(f"table row {number} has {len(row)} cells, the header has {len(headers)}")
        head = "".join(f"<th>{_e(h)}</th>" for h in headers)
        if rows:
            body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
        else:
            body = f'<tr><td colspan="{len(headers)}" class="muted">{_e(empty_text)}</td></tr>'
        title = f"<caption>{_e(caption)}</caption>" if caption else ""
        self._parts.append(f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def add_figure(self, figure: Figure, caption: str | None = None, alt: str | None = None) -> HtmlReport:
        """Embed a matplotlib figure as PNG and close it (the report keeps the pixels, not the figure)."""
        import matplotlib.pyplot as plt

        try:
            uri = figure_data_uri(figure)
        finally:
            plt.close(figure)
        text = alt or caption or f"figure {self.figure_count + 1}"
        caption_html = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img src="{uri}" alt="{_e(text)}">{caption_html}</figure>')
        self.figure_count += 1
        return self

    def render(self) -> str:
        """The whole page as one string."""
        subtitle = f'<p class="subtitle">{_e(self.subtitle)}</p>' if self.subtitle else ""
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(self.title)}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>{_e(self.title)}</h1>{subtitle}"
            + "\n".join(self._parts)
            + f"<footer>Generated {generated}</footer></main></body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page (UTF-8), creating missing parent directories; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.render(), encoding="utf-8")
        return target


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _class(status: str | None) -> str:
    return f' class="{status}"' if status else ""


def _cell(value: CellValue) -> str:
    if isinstance(value, Cell):
        return f"<td{_class(value.status)}>{_e(value.text)}</td>"
    if value is None:
        return '<td class="muted">-</td>'
    if isinstance(value, bool):
        return f"<td>{_e(value)}</td>"
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:,.4g}</td>'
    return f"<td>{_e(value)}</td>"


_CSS = """
:root { --ok: #1a7f37; --warn: #9a6700; --alert: #cf222e; --info: #0969da; --muted: #6e7781;
        --border: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 12px; font-size: 19px; border-bottom: 1px solid var(--border); padding-bottom: 4px; }
.subtitle { margin: 0 0 16px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--border); border-left: 5px solid var(--muted); border-radius: 6px;
        padding: 10px 14px; background: #fff; }
.card.ok { border-left-color: var(--ok); } .card.warn { border-left-color: var(--warn); }
.card.alert { border-left-color: var(--alert); } .card.info { border-left-color: var(--info); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .value { font-size: 22px; font-weight: 600; }
.card .detail { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--border); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.ok, p.ok { color: var(--ok); font-weight: 600; } td.warn, p.warn { color: var(--warn); font-weight: 600; }
td.alert, p.alert { color: var(--alert); font-weight: 600; } td.info, p.info { color: var(--info); }
.muted { color: var(--muted); }
figure { margin: 16px 0; } figure img { max-width: 100%; border: 1px solid var(--border); border-radius: 6px; }
figcaption { font-size: 13px; color: var(--muted); }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
"""
