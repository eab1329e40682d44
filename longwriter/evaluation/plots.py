"""PNG plots of a report, drawn with matplotlib's Agg backend (no display needed, thread-safe use).

Required vs produced length on log-log axes with the y = x line (the LongWriter paper's ruler plot),
S_l per length bucket, and ratings with their 95% intervals. Each function returns the PNG's path.
"""

from __future__ import annotations

import statistics
import threading
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

_LOCK = threading.Lock()
"""pyplot keeps global state; one figure at a time even when the app serves several users."""


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def length_scatter(
    points: dict[str, list[tuple[int, int]]],
    path: Path,
    title: str = "Required vs produced words",
    connect: bool = False,
) -> Path:
    """Each configuration's (required, produced) words on log-log axes, with y = x.

    ``connect`` draws the median produced length per required length as a line (the ruler plot).
    Zero-word outputs are drawn at 1 word so they stay visible on a log axis.
    """
    with _LOCK:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        everything = [v for pts in points.values() for p in pts for v in p] or [1, 10]
        low, high = max(1, min(everything)) / 1.5, max(everything) * 1.5
        ax.plot([low, high], [low, high], "--", color="grey", linewidth=1, label="produced = required")
        for k, (label, pts) in enumerate(points.items()):
            color = f"C{k % 10}"
            xs = [p[0] for p in pts]
            ys = [max(1, p[1]) for p in pts]
            ax.scatter(xs, ys, alpha=0.7, s=28, color=color, label=None if connect else label)
            if connect and pts:
                by_required: dict[int, list[int]] = {}
                for x, y in zip(xs, ys, strict=True):
                    by_required.setdefault(x, []).append(y)
                order = sorted(by_required)
                medians = [statistics.median(by_required[x]) for x in order]
                ax.plot(order, medians, "-o", color=color, label=f"{label} (median)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_xlabel("required length (words)")
        ax.set_ylabel("produced length (words)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8)
        return _save(fig, path)


def bucket_bars(
    by_config: dict[str, dict[str, float | None]], path: Path, title: str = "S_l per length bucket"
) -> Path:
    """Grouped bars: S_l (0–100) of each length bucket, one colour per configuration."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        buckets = list(dict.fromkeys(b for scores in by_config.values() for b in scores))
        width = 0.8 / max(1, len(by_config))
        for k, (label, scores) in enumerate(by_config.items()):
            xs = [i + (k - (len(by_config) - 1) / 2) * width for i in range(len(buckets))]
            values = [scores.get(b) or 0.0 for b in buckets]
            bars = ax.bar(xs, values, width=width, label=label)
            for bar, bucket in zip(bars, buckets, strict=True):
                value = scores.get(bucket)
                ax.annotate(
                    "–" if value is None else f"{value:.0f}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        ax.set_xticks(range(len(buckets)), buckets)
        ax.set_ylim(0, 105)
        ax.set_ylabel("S_l")
        ax.set_xlabel("required length (words)")
        ax.set_title(title)
        if len(by_config) > 1:
            ax.legend(fontsize=8)
        return _save(fig, path)


def ratings_plot(
    ratings: list[dict[str, Any]], path: Path, title: str = "Ratings (Bradley–Terry, 95% interval)"
) -> Path:
    """Each configuration's rating as a point with its bootstrap interval, best at the top."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(ratings) + 1.6))
        rows = list(reversed(ratings))
        ys = range(len(rows))
        values = [r["rating"] for r in rows]
        errors = [[r["rating"] - r["lower"] for r in rows], [r["upper"] - r["rating"] for r in rows]]
        ax.errorbar(values, ys, xerr=errors, fmt="o", capsize=4)
        ax.set_yticks(list(ys), [r["config"] for r in rows])
        ax.axvline(1000, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("rating")
        ax.set_title(title)
        ax.grid(True, axis="x", alpha=0.25)
        return _save(fig, path)


def _bucket_scores(by_bucket: dict[str, Any]) -> dict[str, float | None]:
    """S_l of every LongBench-Write bucket (None where the run has no item), then any beyond 20k."""
    from longwriter.evaluation.report import BUCKETS

    names = [b[0] for b in BUCKETS] + [b for b in by_bucket if b not in {name for name, _, _ in BUCKETS}]
    return {name: by_bucket[name]["S_l"] if name in by_bucket else None for name in names}


def report_plots(report: dict[str, Any], stem: Path) -> dict[str, str]:
    """Every plot that fits ``report``, written as ``<stem>.<name>.png``; returns name → path."""
    plots: dict[str, str] = {}
    items = [i for i in report.get("items", []) if i.get("S_l") is not None]
    points: dict[str, list[tuple[int, int]]] = {}
    for item in items:
        points.setdefault(item["config"] or "model", []).append((item["required"], item["words"] or 0))
    kind = report["kind"]
    if points:
        title = "LongWrite-Ruler: required vs produced words" if kind == "ruler" else "Required vs produced words"
        plots["lengths"] = str(
            length_scatter(points, stem.with_name(stem.name + ".lengths.png"), title, connect=kind == "ruler")
        )
    if kind == "longbench-write" and items:
        label = items[0]["config"] or "model"
        plots["buckets"] = str(
            bucket_bars(
                {label: _bucket_scores(report["length"]["by_bucket"])}, stem.with_name(stem.name + ".buckets.png")
            )
        )
    if kind == "arena":
        by_config = {
            label: _bucket_scores(section["by_bucket"]) for label, section in report["length"].items() if section["n"]
        }
        if by_config:
            plots["buckets"] = str(bucket_bars(by_config, stem.with_name(stem.name + ".buckets.png")))
        if report.get("ratings"):
            plots["ratings"] = str(ratings_plot(report["ratings"], stem.with_name(stem.name + ".ratings.png")))
    return plots
