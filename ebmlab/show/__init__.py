"""The show layer: the course's figures (:mod:`ebmlab.show.plot`) and sliders
(:mod:`ebmlab.show.widgets`).

Chapters write ``ebmlab.show.use_style()``, ``ebmlab.show.PALETTE``, ``ebmlab.show.image_grid``,
``ebmlab.show.frame_slider``, and draw schematics with :mod:`ebmlab.show.diagrams`
(``diagrams.canvas``, ``node``, ``arrow``, ``label``). Importing it loads matplotlib; ipywidgets
loads only when a slider is first asked for. The mathematics never imports this package.
"""

from __future__ import annotations

import importlib

from . import diagrams, plot
from .plot import *  # noqa: F403 - the figures are this package's own API

_WIDGETS = ("frame_slider", "live_slider")

# widgets: on first use
__all__ = [*plot.__all__, *_WIDGETS, "diagrams", "plot", "widgets"]  # noqa: F405


def __getattr__(name: str):
    if name == "widgets" or name in _WIDGETS:
        widgets = importlib.import_module(".widgets", __name__)
        return widgets if name == "widgets" else getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
