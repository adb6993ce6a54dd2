"""Matplotlib figures as inline SVG: no pyplot (no global figure state, no GUI backend), text kept
as <text> (small), fixed ids (same data, same bytes), and nothing that names a URL."""

from __future__ import annotations

import io
import re
from html import escape
from typing import Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

VISITS = {0: "Baseline", 1: "Month 1", 3: "Month 3", 6: "Month 6"}  # AVISITN -> AVISIT
MEAN_COLOUR = "#1f4e9c"
VISIT_COLOURS = {"Month 1": "#9ecae1", "Month 3": "#4292c6", "Month 6": "#08306b"}
NYHA_COLOURS = {1.0: "#1a9850", 2.0: "#a6d96a", 3.0: "#fdae61", 4.0: "#d73027"}  # class I green .. IV red
NYHA_CLASSES = {1.0: "I", 2.0: "II", 3.0: "III", 4.0: "IV"}
SEVERITY_COLOURS = {"MILD": "#fdd49e", "MODERATE": "#fc8d59", "SEVERE": "#b30000", "": "#bdbdbd"}
SIZE = (6.4, 3.9)  # inches; every plot but the forest plot, whose height follows its rows

Point = tuple[float, float]
Interval = tuple[float, float]


def trajectory_svg(
    name: str,
    title: str,
    y_label: str,
    subjects: Mapping[str, Sequence[Point]],
    means: Sequence[tuple[float, float, Interval | None]],
    n_by_visit: Mapping[int, int],
    log_scale: bool = False,
) -> str:
    """Thin grey line per subject; the mean per visit with its 95% CI drawn over them."""
    fig, ax = _figure(SIZE)
    for points in subjects.values():
        xs, ys = zip(*points)
        ax.plot(xs, ys, color="#9a9a9a", linewidth=0.6, alpha=0.7, marker="o", markersize=1.5)
    if means:
        _means_with_intervals(ax, means, label="mean and 95% CI")
        ax.legend(loc="best", fontsize=8, frameon=False)
    if log_scale:
        ax.set_yscale("log", nonpositive="clip")
    _visit_axis(ax, VISITS, n_by_visit)
    _frame(ax, title, y_label)
    return figure_svg(fig, name)


def change_svg(
    name: str, title: str, y_label: str, changes: Sequence[tuple[int, float, Interval | None]],
    n_by_visit: Mapping[int, int],
) -> str:
    """Mean change from baseline per post-baseline visit with its 95% CI, against the line of no change."""
    fig, ax = _figure(SIZE)
    ax.axhline(0, color="#555", linewidth=0.8, linestyle="--", label="no change")
    if changes:
        _means_with_intervals(ax, changes, label="mean change and 95% CI")
    ax.legend(loc="best", fontsize=8, frameon=False)
    _visit_axis(ax, {n: v for n, v in VISITS.items() if n > 0}, n_by_visit)
    _frame(ax, title, y_label)
    return figure_svg(fig, name)


def class_shares_svg(name: str, title: str, counts: Mapping[int, Mapping[float, int]]) -> str:
    """Stacked bars per visit: the share of subjects in each NYHA class, with the count in each part."""
    fig, ax = _figure(SIZE)
    visits = list(VISITS)
    classes = sorted({c for by_class in counts.values() for c in by_class})
    totals = [sum(counts.get(v, {}).values()) for v in visits]
    bottoms = [0.0] * len(visits)
    for nyha in classes:
        numbers = [counts.get(v, {}).get(nyha, 0) for v in visits]
        shares = [100 * n / t if t else 0.0 for n, t in zip(numbers, totals)]
        bars = ax.bar(range(len(visits)), shares, bottom=bottoms, width=0.6, label=NYHA_CLASSES.get(nyha, f"{nyha:g}"),
                      color=NYHA_COLOURS.get(nyha, "#969696"), edgecolor="white", linewidth=0.5)
        ax.bar_label(bars, labels=[str(n) if share >= 6 else "" for n, share in zip(numbers, shares)],
                     label_type="center", fontsize=7)
        bottoms = [b + s for b, s in zip(bottoms, shares)]
    ax.set_xticks(range(len(visits)), [f"{VISITS[v]}\nN={t}" for v, t in zip(visits, totals)])
    ax.set_xlabel("Analysis visit (N = subjects with a class)")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, title="NYHA class",
              title_fontsize=8, reverse=True)
    _frame(ax, title, "Subjects (%)", right=0.84)
    return figure_svg(fig, name)


def onset_days_svg(
    name: str, title: str, days: Sequence[int], events: Mapping[str, Mapping[int, int]],
    subjects_by_day: Mapping[int, int],
) -> str:
    """Stacked bars per study day: adverse events by severity, each day labelled with its subjects."""
    fig, ax = _figure(SIZE)
    bottoms = [0] * len(days)
    for severity, by_day in events.items():
        numbers = [by_day.get(day, 0) for day in days]
        ax.bar(days, numbers, bottom=bottoms, width=0.6, label=severity or "severity missing",
               color=SEVERITY_COLOURS.get(severity, "#969696"), edgecolor="white", linewidth=0.5)
        bottoms = [b + n for b, n in zip(bottoms, numbers)]
    ax.set_xticks(days, [f"Day {day}\nn={subjects_by_day.get(day, 0)}" for day in days])
    ax.set_xlabel("Study day of onset (ASTDY; n = subjects with an onset that day)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(max(bottoms, default=0), 1) * 1.1)
    ax.legend(loc="upper right", fontsize=8, frameon=False, title="AESEV", title_fontsize=8)
    _frame(ax, title, "Adverse events (count)")
    return figure_svg(fig, name)


def forest_svg(name: str, title: str, rows: Sequence[tuple[str, str, float, float, float]],
               n_by_visit: Mapping[str, Sequence[int]]) -> str:
    """One line per parameter (label, visit, estimate, low, high), visits offset and coloured."""
    labels = list(dict.fromkeys(label for label, *_ in rows))
    position = {label: len(labels) - i for i, label in enumerate(labels)}
    offsets = {"Month 1": 0.22, "Month 3": 0.0, "Month 6": -0.22}
    fig, ax = _figure((SIZE[0], 0.28 * len(labels) + 1.9))
    for visit, colour in VISIT_COLOURS.items():
        chosen = [r for r in rows if r[1] == visit]
        if not chosen:
            continue
        ys = [position[label] + offsets[visit] for label, *_ in chosen]
        est = [r[2] for r in chosen]
        err = [[r[2] - r[3] for r in chosen], [r[4] - r[2] for r in chosen]]
        ax.errorbar(est, ys, xerr=err, fmt="o", color=colour, markersize=3, linewidth=1, capsize=0,
                    label=f"{visit} ({_n_range(n_by_visit.get(visit, ()))})")
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_yticks([position[label] for label in labels], labels, fontsize=8)
    ax.set_ylim(0.4, len(labels) + 0.6)
    ax.set_xlabel("Mean change / SD of change (unitless)")
    ax.set_ylabel("Parameter (PARAMCD)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left", pad=22)
    ax.spines[["top", "right"]].set_visible(False)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.55 / height, top=1 - 0.75 / height)
    return figure_svg(fig, name)


def _n_range(ns: Sequence[int]) -> str:
    low, high = min(ns, default=0), max(ns, default=0)
    return f"N={low}" if low == high else f"N={low}–{high}"


def _figure(size: tuple[float, float]):
    fig = Figure(figsize=size)
    return fig, fig.subplots()


def _means_with_intervals(ax, means: Sequence[tuple[float, float, Interval | None]], label: str) -> None:
    xs = [x for x, _, _ in means]
    ys = [m for _, m, _ in means]
    lower = [m - ci[0] if ci else 0.0 for _, m, ci in means]
    upper = [ci[1] - m if ci else 0.0 for _, m, ci in means]
    ax.errorbar(xs, ys, yerr=[lower, upper], color=MEAN_COLOUR, linewidth=2, marker="s", markersize=4,
                capsize=4, label=label, zorder=3)


def _visit_axis(ax, visits: Mapping[int, str], n_by_visit: Mapping[int, int]) -> None:
    """Visits at their month on x (0, 1, 3, 6), each labelled with its N."""
    ax.set_xticks(list(visits), [f"{label}\nN={n_by_visit.get(visitn, 0)}" for visitn, label in visits.items()])
    ax.set_xlim(min(visits) - 0.4, max(visits) + 0.4)
    ax.set_xlabel("Analysis visit (N = subjects with a value)")


def _frame(ax, title: str, y_label: str, right: float = 0.98) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(y_label)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    # Fixed margins: tight_layout costs a second draw of every figure.
    ax.figure.subplots_adjust(left=0.12, right=right, bottom=0.22, top=0.9)


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
