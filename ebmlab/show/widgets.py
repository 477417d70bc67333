"""Sliders that work in a live notebook **and** on the static website.

Two kinds:

* :func:`frame_slider` renders one figure per slider position *in advance* and stacks the
  PNGs in a ``widgets.Stack``; the slider is linked to the stack in the browser (``jslink``), so
  moving it changes the picture with no Python kernel — on the website as in Colab. Use it for
  every slider that should move on the website.
* :func:`live_slider` calls Python on every move (any value, no pre-rendering), so it needs a
  running kernel: Colab or local Jupyter. On the website it shows only its first picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .._validation import check_callable, check_int
from .plot import figure_to_png

__all__ = ["frame_slider", "live_slider"]


def _labels(values: Sequence, fmt: str) -> list[str]:
    try:
        return [fmt.format(v) for v in values]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"fmt {fmt!r} cannot format the values: {exc}") from None


def _positions(render, values, fmt: str, start) -> tuple[list, int, list[str]]:
    check_callable(render, "render")
    values = list(values)
    if len(values) < 2:
        raise ValueError(f"values must hold at least two positions; got {len(values)}")
    start = check_int(start, "start", low=0, high=len(values) - 1)
    return values, start, _labels(values, fmt)


def _png(render, value) -> bytes:
    fig = render(value)
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"render must return a matplotlib Figure; got {type(fig).__name__}")
    return figure_to_png(fig)


def frame_slider(
    render: Callable[[object], plt.Figure],
    values: Sequence,
    *,
    description: str = "",
    fmt: str = "{}",
    start: int = 0,
) -> widgets.VBox:
    """A slider over ``values`` that flips between pre-rendered figures.

    Args:
        render: ``render(value) -> Figure``; called once per value (the figure is closed after
            it is turned into a PNG).
        values: the slider positions (at least two).
        description: the slider's label (e.g. ``"β"``).
        fmt: format of each value in the readout, e.g. ``"{:.2g}"``.
        start: index of the value shown first.

    Returns:
        A ``VBox`` holding the slider and the stack of images; display it as a cell's last value.
    """
    values, start, labels = _positions(render, values, fmt, start)
    if len(set(labels)) != len(labels):
        raise ValueError(f"fmt {fmt!r} gives two values the same label; use more digits")
    frames = []
    for v in values:
        frames.append(widgets.Image(value=_png(render, v), format="png"))
    stack = widgets.Stack(frames, selected_index=start)
    slider = widgets.SelectionSlider(
        options=labels,
        index=start,
        description=description,
        continuous_update=True,
        layout=widgets.Layout(width="min(100%, 36em)"),
        style={"description_width": "initial"},
    )
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])


def live_slider(
    render: Callable[[float], plt.Figure],
    values: Sequence[float],
    *,
    description: str = "",
    fmt: str = "{}",
    start: int = 0,
) -> widgets.VBox:
    """A slider that re-runs ``render`` in Python on every move (needs a live kernel).

    Same arguments as :func:`frame_slider`; nothing is rendered in advance except the first
    figure, so it is cheap to build and can offer many positions.
    """
    values, start, labels = _positions(render, values, fmt, start)
    slider = widgets.SelectionSlider(
        options=list(zip(labels, range(len(values)))),
        value=start,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )
    image = widgets.Image(format="png")

    def draw(index: int) -> None:
        image.value = _png(render, values[index])

    slider.observe(lambda change: draw(change["new"]), names="value")
    draw(start)
    return widgets.VBox([slider, image])
