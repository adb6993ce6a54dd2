"""Matplotlib figures as inline SVG: no pyplot (no global figure state, no GUI backend), text kept
as <text> (small), fixed ids (same data, same bytes), and nothing that names a URL."""

from __future__ import annotations

import io
import re
from html import escape
from typing import Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

VISIT_TICKS = {0: "Baseline", 1: "Month 1", 3: "Month 3", 6: "Month 6"}
MEAN_COLOUR = "#1f4e9c"
VISIT_COLOURS = {"Month 1": "#9ecae1", "Month 3": "#4292c6", "Month 6": "#08306b"}

Point = tuple[float, float]


def trajectory_svg(
    name: str,
    y_label: str,
    subjects: Mapping[str, Sequence[Point]],
    means: Sequence[tuple[float, float, tuple[float, float] | None]],
    log_scale: bool = False,
) -> str:
    """Thin grey line per subject; the mean per visit with its 95% CI drawn over them."""
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.subplots()
    for points in subjects.values():
        xs, ys = zip(*points)
        ax.plot(xs, ys, color="#9a9a9a", linewidth=0.6, alpha=0.7, marker="o", markersize=1.5)
    if means:
        xs = [x for x, _, _ in means]
        ys = [m for _, m, _ in means]
        lower = [m - ci[0] if ci else 0.0 for _, m, ci in means]
        upper = [ci[1] - m if ci else 0.0 for _, m, ci in means]
        ax.errorbar(xs, ys, yerr=[lower, upper], color=MEAN_COLOUR, linewidth=2, marker="s", markersize=4,
                    capsize=4, label="mean and 95% CI", zorder=3)
        ax.legend(loc="best", fontsize=8, frameon=False)
    if log_scale:
        ax.set_yscale("log", nonpositive="clip")
    ax.set_xticks(list(VISIT_TICKS), list(VISIT_TICKS.values()))
    ax.set_xlim(-0.4, 6.4)
    ax.set_ylabel(y_label)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.09, top=0.97)  # fixed: tight_layout costs a draw
    return figure_svg(fig, name)


def forest_svg(name: str, rows: Sequence[tuple[str, str, float, float, float]]) -> str:
    """One line per parameter (label, visit, estimate, low, high), visits offset and coloured."""
    labels = list(dict.fromkeys(label for label, *_ in rows))
    position = {label: len(labels) - i for i, label in enumerate(labels)}
    offsets = {"Month 1": 0.22, "Month 3": 0.0, "Month 6": -0.22}
    fig = Figure(figsize=(6.0, 0.28 * len(labels) + 1.2))
    ax = fig.subplots()
    for visit, colour in VISIT_COLOURS.items():
        chosen = [r for r in rows if r[1] == visit]
        if not chosen:
            continue
        ys = [position[label] + offsets[visit] for label, *_ in chosen]
        est = [r[2] for r in chosen]
        err = [[r[2] - r[3] for r in chosen], [r[4] - r[2] for r in chosen]]
        ax.errorbar(est, ys, xerr=err, fmt="o", color=colour, markersize=3, linewidth=1, capsize=0, label=visit)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_yticks([position[label] for label in labels], labels, fontsize=8)
    ax.set_ylim(0.4, len(labels) + 0.6)
    ax.set_xlabel("mean change / SD of change")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.55 / height, top=1 - 0.4 / height)
    return figure_svg(fig, name)


_PROLOG = re.compile(r"\A.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_GROUP_IDS = re.compile(r'(<g) id="[^"]*"')


def figure_svg(fig: Figure, name: str) -> str:
    """The figure as an <svg> element to put inside HTML.

    HTML parses inline SVG (and xlink:href) without namespace declarations, so the prolog, the
    metadata and the xmlns attributes (all URLs) go. Group ids are never referenced and would repeat
    across figures; the ids that are referenced (markers, clip paths) are hashed with `name`.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOG.sub("", buffer.getvalue())
    svg = _METADATA.sub("", svg)
    svg = _NAMESPACES.sub("", svg)
    svg = _GROUP_IDS.sub(r"\1", svg)
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(name)}"', 1).strip()
