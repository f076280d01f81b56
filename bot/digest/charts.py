"""Bar charts as PNG bytes for reports and digests: horizontal bars, largest first, the number on each bar.

Sized to be read on a phone: few inches wide, large type, long Vietnamese labels wrapped. matplotlib is imported
inside the functions (with the Agg backend) because importing it costs start-up time the bot does not need.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import Any

_FONT = "DejaVu Sans"          # ships with matplotlib and has every Vietnamese letter
_BAR_COLOUR = "#1f5f99"
_WIDTH_IN = 6.4
_LABEL_WIDTH = 26              # characters per line of a bar's label
_DPI = 150


def questions_chart_png(per_topic: Mapping[str, int], per_hamlet: Mapping[str, int], title: str, *,
                        topic_title: str = "", hamlet_title: str = "") -> bytes:
    """Two panels, one above the other (a phone screen is tall): questions per topic, then per hamlet."""
    plt = _pyplot()
    topics, hamlets = _sorted(per_topic), _sorted(per_hamlet)
    heights = [_height(len(topics)), _height(len(hamlets))]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(_WIDTH_IN, sum(heights) + 0.4),
                                      gridspec_kw={"height_ratios": heights})
    fig.suptitle(title, fontsize=13, fontweight="bold", wrap=True)
    _bars(top, topics, topic_title, "")
    _bars(bottom, hamlets, hamlet_title, "")
    return _png(plt, fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = _FONT
    return plt


def _sorted(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Largest first; equal counts keep the order given (so the same data draws the same chart)."""
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _height(bars: int) -> float:
    return 1.2 + 0.55 * max(bars, 1)


def _bars(ax: Any, rows: list[tuple[str, int]], title: str, xlabel: str) -> None:
    labels = [textwrap.fill(label, _LABEL_WIDTH) for label, _ in rows]
    values = [value for _, value in rows]
    positions = list(range(len(rows)))
    bars = ax.barh(positions, values, color=_BAR_COLOUR)
    ax.set_yticks(positions, labels, fontsize=10)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[str(v) for v in values], padding=3, fontsize=11, fontweight="bold")
    ax.set_xlim(0, max(values, default=0) * 1.18 + 1)
    ax.xaxis.set_visible(bool(xlabel))
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=10)
    if title:
        ax.set_title(title, fontsize=13, fontweight="bold", wrap=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not rows:
        ax.set_yticks([])


def _png(plt: Any, fig: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=_DPI)
    finally:
        plt.close(fig)
    return buffer.getvalue()
