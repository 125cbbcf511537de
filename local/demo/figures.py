"""The report's figures (matplotlib, Agg backend): latency, error rates, PSI, bin overlays, ROC curve."""

from __future__ import annotations

import io
import math
import tarfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, and the same pixels everywhere

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from local.demo.results import PHASE_TITLES, DemoResult, PhaseTraffic, TrainedModel
from monitoring import metrics as m

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from monitoring.baseline import BinnedDistribution

PHASE_COLORS = {"normal": "#0969da", "drifted": "#cf222e", "bad-client": "#bf8700"}
BASELINE_COLOR = "#8c959f"
WARN_COLOR, ALERT_COLOR = "#bf8700", "#cf222e"
PSI_FLOOR = 1e-3  # the PSI axis starts here (log scale)
OVERLAY_FEATURES = 4  # distribution overlays for this many of the most drifted features

plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "legend.frameon": False,
    }
)


def latency_figure(phases: Sequence[PhaseTraffic]) -> Figure:
    """Latency histogram by request kind, and latency per phase with every request as a dot."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
    requests = [r for p in phases for r in p.requests]
    latencies_ms = np.array([r.latency_us for r in requests]) / m.MICROSECONDS_PER_MS
    bins = np.geomspace(max(latencies_ms.min() * 0.9, 0.05), latencies_ms.max() * 1.1, 40)
    kinds = [("1 row", "#0969da"), ("batch", "#8250df"), ("malformed", "#bf8700")]
    for kind, color in kinds:
        values = [
            r.latency_us / m.MICROSECONDS_PER_MS
            for r in requests
            if (r.malformed if kind == "malformed" else (r.kind == kind and not r.malformed))
        ]
        if values:
            left.hist(values, bins=bins, color=color, alpha=0.75, label=f"{kind} ({len(values)})")
    left.set_xscale("log")
    _plain_log_ticks(left.xaxis)
    left.set_xlabel("latency (ms, log scale)")
    left.set_ylabel("requests")
    left.set_title("Latency by request kind")
    left.legend()

    rng = np.random.default_rng(0)
    for position, traffic in enumerate(phases):
        values = np.array([r.latency_us for r in traffic.requests]) / m.MICROSECONDS_PER_MS
        right.boxplot(
            values,
            positions=[position],
            widths=0.5,
            showfliers=False,
            medianprops={"color": "black"},
            boxprops={"color": PHASE_COLORS[traffic.name]},
            whiskerprops={"color": PHASE_COLORS[traffic.name]},
            capprops={"color": PHASE_COLORS[traffic.name]},
        )
        jitter = position + rng.uniform(-0.18, 0.18, len(values))
        colors = ["#bf8700" if r.malformed else PHASE_COLORS[traffic.name] for r in traffic.requests]
        right.scatter(jitter, values, s=6, alpha=0.45, c=colors, linewidths=0)
    right.set_yscale("log")
    _plain_log_ticks(right.yaxis)
    right.grid(axis="x", visible=False)
    right.set_xticks(range(len(phases)), [p.title for p in phases])
    right.set_ylabel("latency (ms, log scale)")
    right.set_title("Latency per phase (dots: requests; amber: malformed)")
    figure.tight_layout()
    return figure


def error_rate_figure(phases: Sequence[PhaseTraffic], threshold: float) -> Figure:
    """4xx and 5xx rate per phase as bars, with the alarm threshold."""
    figure, axes = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(phases))
    width = 0.36
    for offset, (label, attribute, color) in zip(
        (-width / 2, width / 2),
        (("4xx (client errors)", "client_error", "#bf8700"), ("5xx (server errors)", "server_error", "#cf222e")),
        strict=True,
    ):
        counts = [sum(getattr(r, attribute) for r in p.requests) for p in phases]
        totals = [len(p.requests) for p in phases]
        rates = [100 * c / t if t else 0.0 for c, t in zip(counts, totals, strict=True)]
        bars = axes.bar(x + offset, rates, width, label=label, color=color)
        for bar, count, total in zip(bars, counts, totals, strict=True):
            axes.annotate(
                f"{count}/{total}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=9,
            )
    axes.axhline(100 * threshold, color=ALERT_COLOR, linestyle="--", linewidth=1.2)
    axes.annotate(
        f"alarm threshold {100 * threshold:g} %",
        (0.5, 100 * threshold),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        color=ALERT_COLOR,
        fontsize=9,
    )
    axes.grid(axis="x", visible=False)
    axes.set_xticks(x, [p.title for p in phases])
    axes.set_ylabel("share of requests (%)")
    top = max([100 * threshold, *(100 * sum(r.client_error for r in p.requests) / len(p.requests) for p in phases)])
    axes.set_ylim(0, top * 1.35)
    axes.set_title("Error rate per phase")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


def psi_figure(result: DemoResult, warn: float, alert: float) -> Figure:
    """Horizontal PSI bars per feature (and the score), one bar per phase, with the warn and alert lines.

    Log scale: undrifted traffic sits around 0.001-0.01, a decade or two below the thresholds, and
    that distance is what a reader should see; values below PSI_FLOOR are drawn at the floor.
    """
    reports = {name: drift.report for name, drift in result.drift.items() if drift.report.get("features")}
    order_source = reports.get("drifted") or next(iter(reports.values()))
    names = [c["name"] for c in [*order_source["features"], order_source["score"]]]
    names.sort(key=lambda n: _psi_of(order_source, n) or 0.0)
    figure, axes = plt.subplots(figsize=(10, 0.36 * len(names) + 1.4))
    y = np.arange(len(names))
    height = 0.8 / max(len(reports), 1)
    for index, (phase, report) in enumerate(reports.items()):
        values = [max(_psi_of(report, n) or 0.0, PSI_FLOOR) for n in names]
        offset = ((len(reports) - 1) / 2 - index) * height  # first phase on top, as in the legend
        widths = [value - PSI_FLOOR for value in values]  # a bar spans [floor, value] on the log axis
        bars = axes.barh(
            y + offset, widths, height, left=PSI_FLOOR, color=PHASE_COLORS[phase], label=PHASE_TITLES[phase]
        )
        if phase == "drifted":
            for bar, value in zip(bars, values, strict=True):
                if value >= warn:
                    axes.annotate(
                        f"{value:.2f}",
                        (value, bar.get_y() + bar.get_height() / 2),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=8,
                    )
    axes.axvline(warn, color=WARN_COLOR, linestyle="--", linewidth=1.2, label=f"warn {warn:g}")
    axes.axvline(alert, color=ALERT_COLOR, linestyle="--", linewidth=1.2, label=f"alert {alert:g}")
    axes.set_yticks(y, [n.replace("prediction_score", "prediction score") for n in names])
    alerted = {c["name"] for c in [*order_source["features"], order_source["score"]] if c["status"] == "alert"}
    for label, name in zip(axes.get_yticklabels(), names, strict=True):
        if name in alerted:
            label.set_color(ALERT_COLOR)
            label.set_fontweight("bold")
    axes.set_xscale("log")
    axes.set_xlim(PSI_FLOOR, max(10 * alert, *(bar.get_x() + bar.get_width() for bar in axes.patches)) * 2)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("PSI (log scale)")
    axes.set_title("Population stability index per feature")
    axes.legend(loc="lower right")
    axes.grid(axis="y", visible=False)
    figure.tight_layout()
    return figure


def _plain_log_ticks(axis: Any) -> None:
    """Label a log axis 1, 2, 5, 10, … instead of 2×10⁰."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _psi_of(report: dict[str, Any], name: str) -> float | None:
    for column in [*report.get("features", []), *([report["score"]] if report.get("score") else [])]:
        if column["name"] == name:
            return column["psi"]
    return None


def overlay_figure(result: DemoResult) -> Figure:
    """Baseline share per quantile bin against the normal and drifted phases, for the most drifted features."""
    assert result.baseline is not None
    drifted = result.drift["drifted"].report
    ranked = sorted(drifted["features"], key=lambda c: -(c["psi"] or 0.0))[:OVERLAY_FEATURES]
    distributions = {d.name: (i, d) for i, d in enumerate(result.baseline.features)}
    columns = 2
    rows = (len(ranked) + columns - 1) // columns
    figure, grid = plt.subplots(rows, columns, figsize=(11, 3.3 * rows), squeeze=False)
    for axes, column in zip(grid.flat, ranked, strict=False):
        index, distribution = distributions[column["name"]]
        _overlay(axes, distribution, index, result, column["psi"])
    for axes in list(grid.flat)[len(ranked) :]:
        axes.set_visible(False)
    handles, labels = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 1.02))
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    return figure


def _overlay(axes: Axes, distribution: BinnedDistribution, index: int, result: DemoResult, psi: float | None) -> None:
    bins = np.arange(len(distribution.shares))
    axes.bar(bins, distribution.shares, width=0.85, color=BASELINE_COLOR, alpha=0.55, label="training baseline")
    for phase in ("normal", "drifted"):
        counts = result.drift[phase].counts.features[index]
        total = counts.count
        if not total:
            continue
        shares = np.array(counts.bin_counts()) / total
        axes.plot(bins, shares, marker="o", markersize=3.5, linewidth=1.6, color=PHASE_COLORS[phase], label=phase)
    edges = distribution.edges
    step = max(1, math.ceil(len(edges) / 7))
    shown = range(0, len(edges), step)
    axes.set_xticks([k + 0.5 for k in shown], [f"{edges[k]:.4g}" for k in shown], fontsize=8)
    axes.set_xlabel("bin upper edge (value)")
    axes.set_ylabel("share of rows")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_title(f"{distribution.name}  (PSI {psi:.2f})" if psi is not None else distribution.name)
    axes.grid(axis="x", visible=False)


def training_figure(trained: TrainedModel, min_auc: float) -> Figure | None:
    """ROC curve and score histograms of the validation split, scored by the trained booster."""
    scores, labels = _validation_scores(trained)
    if scores is None or labels is None or labels.min() == labels.max():
        return None
    order = np.argsort(-scores)
    sorted_labels = labels[order]
    tpr = np.concatenate([[0.0], np.cumsum(sorted_labels) / sorted_labels.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(1 - sorted_labels) / (1 - sorted_labels).sum()])
    auc = trained.evaluation["validation"]["auc"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(fpr, tpr, color="#0969da", linewidth=2, label=f"model (AUC {auc:.3f})")
    left.plot([0, 1], [0, 1], color=BASELINE_COLOR, linestyle=":", label="chance (AUC 0.5)")
    left.set_xlabel("false positive rate")
    left.set_ylabel("true positive rate")
    left.set_title(f"ROC curve (quality gate: AUC ≥ {min_auc:g})")
    left.legend(loc="lower right")
    bins = np.linspace(0, 1, 41)
    right.hist(scores[labels == 0], bins=bins, alpha=0.65, color="#0969da", label="stayed (label 0)")
    right.hist(scores[labels == 1], bins=bins, alpha=0.65, color="#cf222e", label="churned (label 1)")
    right.axvline(0.5, color="black", linestyle="--", linewidth=1, label="label threshold 0.5")
    right.set_xlabel("predicted churn probability")
    right.set_ylabel("validation rows")
    right.set_title("Scores per true label")
    right.legend()
    figure.tight_layout()
    return figure


def _validation_scores(trained: TrainedModel) -> tuple[np.ndarray | None, np.ndarray | None]:
    import xgboost as xgb

    with tarfile.open(trained.result.model_tar) as archive:
        member = archive.extractfile("model.ubj")
        if member is None:
            return None, None
        model_bytes = bytearray(member.read())
    table = np.genfromtxt(io.StringIO((trained.data_dir / "validation.csv").read_text()), delimiter=",", skip_header=1)
    booster = xgb.Booster()
    booster.load_model(model_bytes)
    scores = booster.inplace_predict(table[:, :-1])
    return np.asarray(scores, dtype=np.float64), table[:, -1].astype(int)
