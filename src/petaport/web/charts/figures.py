"""What the portal's charts share: the legend font (CJK-capable), a palette, SVG output."""

from __future__ import annotations

import base64
import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure

LEGEND_FONT = {"family": ["Noto Sans CJK TC", "DejaVu Sans"], "size": "small"}
PALETTE = ("#1f5f99", "#3a9a6a", "#e0a030", "#8a4fb0", "#c2514b", "#4aa3b5", "#7a7a7a",
           "#b5764a", "#5a6fd6", "#9bbf3a")  # fmt: skip


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def hkd_axis(ax: Axes) -> None:
    ax.set_ylabel("HKD")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.grid(axis="y", alpha=0.3)


def data_uri(fig: Figure) -> str:
    """The figure as an SVG ``data:`` URI (no timestamp: the same figure, the same bytes)."""
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")
