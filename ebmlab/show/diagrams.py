"""Schematic diagrams drawn with matplotlib: boxes for functions, circles for variables, arrows.

The chapters draw the lecture's schematics (an energy-based model as a box, a latent-variable
EBM as a graph, a denoising autoencoder) from these few pieces, so every schematic in the book
has the same look: observed variables are grey circles, latent ones white, functions are
rounded boxes, costs are boxes in orange, and all colours come from ``ebmlab.show.PALETTE``.

Example::

    fig, ax = diagrams.canvas(width=6, height=2, xlim=(0, 6), ylim=(0, 2))
    x = diagrams.node(ax, (1, 1), "$x$", kind="observed")
    f = diagrams.node(ax, (3, 1), "$F(x, y)$", kind="cost")
    diagrams.arrow(ax, x, f)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.patches as mpatches
import matplotlib.pyplot as plt

from .._validation import Constraint, Options, Real, check_scalar, checked
from .plot import PALETTE

__all__ = ["canvas", "node", "arrow", "label", "KIND_COLORS"]

#: The face colours of the nodes, by kind (observed and latent variables, functions, costs).
KIND_COLORS = {
    "observed": "#D9D9D9",
    "latent": "#FFFFFF",
    "function": "#CFE8F7",  # a light tint of PALETTE[2], sky blue
    "cost": "#F7DDA6",  # a light tint of PALETTE[1], orange
}
_KINDS = tuple(KIND_COLORS)


@dataclass(frozen=True)
class _Pair(Constraint):
    """Two finite real numbers, such as a point ``(x, y)`` or limits ``(low, high)``."""

    def check(self, value, name: str):
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
            raise TypeError(f"{name} must be a pair of numbers (a, b); got {type(value).__name__}")
        if len(value) != 2:
            raise ValueError(f"{name} must hold two numbers; got {len(value)}")
        return tuple(check_scalar(v, name) for v in value)


class _End(Constraint):
    """Where an arrow starts or ends: a point ``(x, y)`` or a patch returned by :func:`node`."""

    def check(self, value, name: str):
        return value if isinstance(value, mpatches.Patch) else _Pair().check(value, name)


@checked(
    width=Real(low=0.5, high=30),
    height=Real(low=0.5, high=30),
    xlim=_Pair(),
    ylim=_Pair(),
)
def canvas(width=8.0, height=3.0, xlim=(0.0, 8.0), ylim=(0.0, 3.0)):
    """A blank figure for a schematic: no axes or ticks, equal units along ``x`` and ``y``.

    Args:
        width: the figure's width in inches.
        height: the figure's height in inches.
        xlim: the drawing's horizontal extent, in drawing units.
        ylim: the drawing's vertical extent, in drawing units.

    Returns:
        ``(fig, ax)``, a matplotlib figure and its one axes.
    """
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax


def _axes(ax):
    if not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes; got {type(ax).__name__}")
    return ax


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {type(value).__name__}")
    return value


@checked(
    xy=_Pair(),
    kind=Options(_KINDS),
    size=_Pair(),
    fontsize=Real(low=4, high=40),
)
def node(ax, xy, text, kind="function", size=(1.4, 0.7), fontsize=12.0):
    """Draw one node of a schematic, centred at ``xy``, and return its patch.

    Variables (``kind="observed"`` or ``"latent"``) are circles whose diameter is the larger
    of ``size``; functions and costs are rounded boxes of ``size`` (width, height).

    Args:
        ax: the axes (from :func:`canvas`).
        xy: the centre, in drawing units.
        text: the label inside, mathtext allowed (``"$F(x, y)$"``).
        kind: ``"observed"``, ``"latent"``, ``"function"`` or ``"cost"``.
        size: ``(width, height)`` in drawing units.
        fontsize: the label's size in points.

    Returns:
        The patch, to pass to :func:`arrow` as an end.
    """
    ax, text = _axes(ax), _text(text, "text")
    (cx, cy), (w, h) = xy, size
    style = {"facecolor": KIND_COLORS[kind], "edgecolor": PALETTE[0], "linewidth": 1.5}
    if kind in ("observed", "latent"):
        patch = mpatches.Circle((cx, cy), radius=max(w, h) / 2, **style)
    else:
        pad = 0.12 * min(w, h)
        patch = mpatches.FancyBboxPatch(
            (cx - w / 2 + pad, cy - h / 2 + pad),
            w - 2 * pad,
            h - 2 * pad,
            boxstyle=f"round,pad={pad}",
            **style,
        )
    ax.add_patch(patch)
    ax.text(cx, cy, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return patch


def _centre(end):
    return _frame(end)[0]


def _frame(end):
    """The centre and the half-width and half-height of an end (zero for a point)."""
    if isinstance(end, mpatches.Circle):
        return end.center, (end.radius, end.radius)
    if isinstance(end, mpatches.Patch):
        box = end.get_extents().transformed(end.axes.transData.inverted())
        return ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2), (box.width / 2, box.height / 2)
    return end, (0.0, 0.0)


def _edge(end, other):
    """Where the straight line from ``end``'s centre towards ``other`` leaves ``end``."""
    (cx, cy), (hw, hh) = _frame(end)
    dx, dy = other[0] - cx, other[1] - cy
    if isinstance(end, mpatches.Circle):
        t = hw / max(math.hypot(dx, dy), 1e-12)
    else:
        t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    t = min(t, 1.0) if math.isfinite(t) else 0.0
    return cx + t * dx, cy + t * dy


@checked(start=_End(), end=_End(), text_offset=_Pair(), curve=Real(low=-2, high=2))
def arrow(ax, start, end, text="", text_offset=(0.0, 0.15), curve=0.0, color=PALETTE[0]):
    """Draw an arrow from ``start`` to ``end``; a node's patch as an end stops it at the edge.

    Args:
        ax: the axes (from :func:`canvas`).
        start: a point ``(x, y)`` or a patch from :func:`node`.
        end: a point ``(x, y)`` or a patch from :func:`node`.
        text: a label written beside the arrow's middle (``""``: none).
        text_offset: where the label sits, from the arrow's middle, in drawing units.
        curve: the bend, as matplotlib's ``arc3`` radius (0: straight).
        color: the arrow's colour (a matplotlib colour; default black).

    Returns:
        The arrow's patch.
    """
    ax, text = _axes(ax), _text(text, "text")
    color = _text(color, "color")
    a, b = _centre(start), _centre(end)
    patch = mpatches.FancyArrowPatch(
        a,
        b,
        patchA=start if isinstance(start, mpatches.Patch) else None,
        patchB=end if isinstance(end, mpatches.Patch) else None,
        arrowstyle="-|>,head_length=6,head_width=3.5",
        connectionstyle=f"arc3,rad={curve}",
        color=color,
        linewidth=1.6,
        shrinkA=2,
        shrinkB=2,
        zorder=2,
    )
    ax.add_patch(patch)
    if text:
        # the middle of the visible part; an arc3 curve passes half-way to its control point
        p, q = _edge(start, b), _edge(end, a)
        dx, dy = b[0] - a[0], b[1] - a[1]
        x = (p[0] + q[0]) / 2 + curve * dy / 2 + text_offset[0]
        y = (p[1] + q[1]) / 2 - curve * dx / 2 + text_offset[1]
        ax.text(x, y, text, ha="center", va="bottom", fontsize=10, color=color)
    return patch


@checked(xy=_Pair(), fontsize=Real(low=4, high=40))
def label(ax, xy, text, fontsize=10.0, color=PALETTE[0]):
    """Write a free label (a note, a formula) centred at ``xy``.

    Args:
        ax: the axes (from :func:`canvas`).
        xy: the centre, in drawing units.
        text: the text, mathtext allowed.
        fontsize: its size in points.
        color: its colour (a matplotlib colour; default black).

    Returns:
        The matplotlib ``Text``.
    """
    ax, text, color = _axes(ax), _text(text, "text"), _text(color, "color")
    return ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=fontsize, color=color)
