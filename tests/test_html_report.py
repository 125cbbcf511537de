"""The generic HTML report builder: structure, escaping, embedded figures, and clear errors."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from monitoring.tools.html_report import Card, Cell, HtmlReport, HtmlReportError, figure_data_uri

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Elements(HTMLParser):
    """Collects start tags with their attributes and the text inside each tag name."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("img", "meta"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.text.setdefault(self._open[-1], []).append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def line_figure() -> Figure:
    figure = Figure(figsize=(4, 2))
    figure.subplots().plot([0, 1, 2], [3, 1, 2])
    return figure


def test_cards_tables_and_figures_appear_in_order_with_their_statuses() -> None:
    page = (
        HtmlReport("Endpoint health", subtitle="last 24 h")
        .add_heading("Summary")
        .add_cards([Card("Invocations", "1,234", "period 5 min", "info"), Card("Alarms", "1 in ALARM", status="alert")])
        .add_table(["alarm", "state", "count", "rate"], [["Latency", Cell("OK", "ok"), 1234, 0.051234]])
        .add_figure(line_figure(), caption="Latency (ms)")
        .render()
    )
    elements = parse(page)
    assert elements.text["h1"] == ["Endpoint health"]
    assert "last 24 h" in elements.text["p"]
    card_classes = [attrs["class"] for attrs in elements.all("div") if (attrs.get("class") or "").startswith("card")]
    assert card_classes == ["cards", "card info", "card alert"]
    assert elements.text["th"] == ["alarm", "state", "count", "rate"]
    # Integers get thousands separators, floats four significant digits, a Cell keeps its status class.
    assert elements.text["td"] == ["Latency", "OK", "1,234", "0.05123"]
    assert {"class": "ok"} in elements.all("td")
    assert elements.text["figcaption"] == ["Latency (ms)"]
    order = [name for name, _ in elements.tags if name in ("h2", "table", "img")]
    assert order == ["h2", "table", "img"]


def test_figures_are_embedded_as_png_data_uris_and_closed() -> None:
    import matplotlib.pyplot as plt

    figure = plt.figure()
    figure.subplots().bar(["a", "b"], [1, 2])
    report = HtmlReport("Figures").add_figure(figure, caption="bars").add_figure(line_figure())
    images = parse(report.render()).all("img")
    assert report.figure_count == 2 and len(images) == 2
    for image in images:
        src = image["src"] or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.removeprefix("data:image/png;base64,")).startswith(PNG_SIGNATURE)
    assert images[0]["alt"] == "bars" and images[1]["alt"] == "figure 2"
    assert not plt.fignum_exists(figure.number), "a pyplot figure must be closed once embedded"


def test_figure_data_uri_scales_with_dpi() -> None:
    small = figure_data_uri(line_figure(), dpi=40)
    large = figure_data_uri(line_figure(), dpi=160)
    assert len(large) > 2 * len(small)


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    page = (
        HtmlReport(hostile, subtitle=hostile)
        .add_heading(hostile)
        .add_paragraph(hostile, "warn")
        .add_list([hostile])
        .add_cards([Card(hostile, hostile, hostile)])
        .add_table([hostile], [[hostile], [Cell(hostile, "alert")]], caption=hostile)
        .render()
    )
    assert "<script>" not in page
    # title tag + h1, subtitle, heading, paragraph, list, 3 card parts, header, 2 cells, caption
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 13


def test_empty_table_shows_the_empty_text_across_all_columns() -> None:
    elements = parse(HtmlReport("t").add_table(["a", "b", "c"], [], empty_text="no alarms found").render())
    assert elements.text["td"] == ["no alarms found"]
    assert elements.all("td")[0]["colspan"] == "3"


def test_missing_values_show_as_a_dash() -> None:
    elements = parse(HtmlReport("t").add_table(["a", "b"], [[None, "x"]]).render())
    assert elements.text["td"] == ["-", "x"]


def test_a_row_of_the_wrong_width_is_refused_with_its_number() -> None:
    with pytest.raises(HtmlReportError, match="table row 2 has 1 cells, the header has 2"):
        HtmlReport("t").add_table(["a", "b"], [["1", "2"], ["3"]])


def test_an_unknown_status_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(HtmlReportError, match="card 'x': status must be one of ok, warn, alert, info, muted"):
        Card("x", "1", status="red")
    with pytest.raises(HtmlReportError, match="cell"):
        Cell("x", "bad")
    with pytest.raises(HtmlReportError, match="paragraph"):
        HtmlReport("t").add_paragraph("x", "green")


def test_a_blank_title_is_refused() -> None:
    with pytest.raises(HtmlReportError, match="non-empty title"):
        HtmlReport("  ")


def test_write_creates_missing_directories_and_a_self_contained_file(tmp_path: Path) -> None:
    target = HtmlReport("Saved").add_figure(line_figure()).write(tmp_path / "a" / "b" / "report.html")
    text = target.read_text(encoding="utf-8")
    assert target == tmp_path / "a" / "b" / "report.html"
    assert text.startswith("<!DOCTYPE html>")
    # No external asset: nothing is fetched when the page opens.
    assert "http://" not in text and "https://" not in text and "<link" not in text
