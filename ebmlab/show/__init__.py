"""The show layer: the course's figures (:mod:`ebmlab.show.plot`) and sliders
(:mod:`ebmlab.show.widgets`).

Chapters write ``ebmlab.show.use_style()``, ``ebmlab.show.PALETTE``, ``ebmlab.show.image_grid``,
``ebmlab.show.frame_slider``. Importing it loads matplotlib; ipywidgets loads only when a slider
is first asked for. The mathematics never imports this package.
"""

from __future__ import annotations

import importlib

from . import plot
from .plot import (
    DIVERGING_CMAP,
    ENERGY_CMAP,
    PALETTE,
    energy_landscape,
    figure_to_png,
    image_grid,
    use_style,
)

_WIDGETS = ("frame_slider", "live_slider")

__all__ = [  # noqa: F822 - the widgets are attributes on first use (below)
    "PALETTE",
    "ENERGY_CMAP",
    "DIVERGING_CMAP",
    "use_style",
    "energy_landscape",
    "image_grid",
    "figure_to_png",
    "frame_slider",
    "live_slider",
    "plot",
    "widgets",
]


def __getattr__(name: str):
    if name == "widgets" or name in _WIDGETS:
        widgets = importlib.import_module(".widgets", __name__)
        return widgets if name == "widgets" else getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
