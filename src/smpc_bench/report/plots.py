"""One picture per KPI: the industry distribution and where the firm stands.

Drawn from a KPI entry of a report (see :mod:`smpc_bench.report.build`), with matplotlib's
object-oriented API on the Agg canvas (no display, no global pyplot state): a box from the
released first to third quartile, a line at the median, whiskers from the 10th to the 90th
percentile, a diamond at the mean, and a red "you are here" marker at each of the firm's own
values.  Whatever was not released is simply not drawn.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from smpc_bench.report.formatting import format_value

__all__ = ["distribution_points", "kpi_plot_png"]

_BOX = "#9ecae1"
_INK = "#08519c"
_YOU = "#d62728"


def _quantile(kpi: dict[str, Any], percent: float) -> float | None:
    found = [item for item in kpi["statistics"].values()
             if item["kind"] == "quantile" and item["percent"] == percent
             and item["value_float"] is not None]
    found.sort(key=lambda item: item["method"] != "inclusive")
    return found[0]["value_float"] if found else None


def distribution_points(kpi: dict[str, Any]) -> dict[str, float]:
    """The released points the plot can use: ``p10, q1, median, q3, p90, mean`` (if present)."""
    points = {"p10": _quantile(kpi, 10), "q1": _quantile(kpi, 25),
              "median": _quantile(kpi, 50), "q3": _quantile(kpi, 75),
              "p90": _quantile(kpi, 90)}
    mean = kpi["statistics"].get("mean")
    if mean is not None and mean["value_float"] is not None:
        points["mean"] = mean["value_float"]
    return {name: value for name, value in points.items() if value is not None}


def _limits(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 1.0)
    return low - pad, high + pad


def _draw_distribution(axes: Any, points: dict[str, float]) -> None:
    if "p10" in points and "p90" in points:
        axes.plot([points["p10"], points["p90"]], [0, 0], color=_INK, linewidth=1.2, zorder=1)
        for name in ("p10", "p90"):
            axes.plot([points[name]] * 2, [-0.12, 0.12], color=_INK, linewidth=1.2)
            axes.annotate(name, (points[name], -0.2), ha="center", va="top", fontsize=8,
                          color=_INK)
    if "q1" in points and "q3" in points:
        width = points["q3"] - points["q1"]
        axes.add_patch(_rectangle(points["q1"], width))
        for name in ("q1", "q3"):
            axes.annotate(name.upper(), (points[name], -0.32), ha="center", va="top",
                          fontsize=8, color=_INK)
    if "median" in points:
        axes.plot([points["median"]] * 2, [-0.25, 0.25], color=_INK, linewidth=2.5, zorder=3)
        axes.annotate("median", (points["median"], 0.3), ha="center", va="bottom", fontsize=8,
                      color=_INK)
    if "mean" in points:
        axes.plot([points["mean"]], [0], marker="D", color="white", markeredgecolor=_INK,
                  markersize=6, zorder=4, linestyle="none")


def _rectangle(left: float, width: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((left, -0.25), width, 0.5, facecolor=_BOX, edgecolor=_INK, linewidth=1.2,
                     zorder=2)


def _draw_own(axes: Any, own: list[tuple[str, float]]) -> None:
    several = len(own) > 1
    for i, (label, value) in enumerate(sorted(own, key=lambda item: item[1])):
        axes.plot([value], [0.62], marker="v", color=_YOU, markersize=11, zorder=5,
                  linestyle="none")
        axes.plot([value, value], [-0.45, 0.55], color=_YOU, linewidth=1, linestyle=":",
                  zorder=4)
        text = label if several else "you are here"
        axes.annotate(text, (value, 0.76 + 0.16 * (i % 3)), ha="center", va="bottom",
                      fontsize=8.5, color=_YOU, fontweight="bold")
    if several:
        axes.annotate("\u25bc your rows", (0, 1), xycoords="axes fraction", ha="left",
                      va="top", fontsize=8.5, color=_YOU, fontweight="bold")


def _tick(value: float, unit: str, decimals: int) -> str:
    """Short axis labels: ``EUR 1.2M``, ``EUR 830k``, ``61.5%``."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= max(size, 1e4):
            text = f"{value / size:.4g}{suffix}"
            return format_value(0, unit, 0).replace("0", text, 1)
    return format_value(value, unit, min(decimals, 2))


def kpi_plot_png(kpi: dict[str, Any], *, dpi: int = 110) -> bytes | None:
    """A PNG of the KPI's released distribution with the firm's own values marked.

    Args:
        kpi: One entry of ``report["kpis"]``.
        dpi: Resolution.

    Returns:
        PNG bytes, or None if no statistic of the distribution was released.
    """
    points = distribution_points(kpi)
    if not points:
        return None
    own = [(row["label"], row["value_float"]) for row in kpi["own"]["rows"]
           if row["value_float"] is not None]
    figure = Figure(figsize=(7.6, 2.2), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.04, 0.3, 0.92, 0.66))
    _draw_distribution(axes, points)
    _draw_own(axes, own)
    axes.set_xlim(*_limits(list(points.values()) + [value for _, value in own]))
    axes.set_ylim(-0.55, 1.3)
    axes.set_yticks([])
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=8)
    axes.xaxis.set_major_formatter(lambda x, _pos: _tick(x, kpi["unit"], kpi["decimals"]))
    direction = ("higher is better \u2192" if kpi["higher_is_better"]
                 else "\u2190 lower is better")
    figure.text(0.96 if kpi["higher_is_better"] else 0.04, 0.04, direction, fontsize=8,
                color="#555555", ha="right" if kpi["higher_is_better"] else "left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
