"""ebmlab — the companion package of the course on energy-based models and self-supervised learning.

The package's folders are its layers, each importing only the layers above it in this list:

- base: ``runtime`` (seeds, device, determinism), ``_validation`` (checks, declared constraints),
  ``base`` (the estimator base, ``NotFittedError``, ``History``), ``data`` (offline data sets);
- core: ``energy`` (energies, inference, free energy, Gibbs), ``samplers``, ``optim`` (shrink,
  FISTA's momentum, power iteration, minibatches, the training loop);
- methods, in the book's order: ``latent``, ``training``, ``kmeans``, ``sparse``, ``vae``,
  ``ssl``;
- show: ``show`` (figures and widgets);
- teach: ``exercises`` (the checks, one module per chapter);
- tools: ``tools`` (assign, grade, the ``ebmlab`` command) and ``bench`` (the benchmarks).

``import ebmlab`` loads base, core and methods; ``show``, ``exercises``, ``tools`` and ``bench``
load on first use (``ebmlab.show.use_style()`` works without an import of its own). Everything
listed in ``__all__`` is the public API, documented in the book's API appendix.
"""

from __future__ import annotations

import importlib

from . import (
    base,
    data,
    energy,
    kmeans,
    latent,
    optim,
    runtime,
    samplers,
    sparse,
    ssl,
    training,
    vae,
)
from .base import History, NotFittedError
from .data import (
    digits,
    ellipse,
    forking_blobs,
    forking_paths,
    horn,
    image_patches,
    multimodal_1d,
    multimodal_branches,
    natural_images,
    spiral,
    torchvision_dataset,
)
from .energy import (
    Minimum,
    chain_argmin,
    chain_energy,
    free_energy,
    free_energy_min,
    gibbs,
    grid_1d,
    grid_2d,
    infer,
    minimize,
)
from .kmeans import KMeans
from .runtime import deterministic, device, generator, progress, seed_everything

__version__ = "0.1.0"

__all__ = [
    # runtime
    "seed_everything",
    "device",
    "deterministic",
    "generator",
    "progress",
    # data
    "multimodal_1d",
    "multimodal_branches",
    "ellipse",
    "horn",
    "spiral",
    "digits",
    "natural_images",
    "image_patches",
    "torchvision_dataset",
    "forking_paths",
    "forking_blobs",
    # energy
    "free_energy",
    "free_energy_min",
    "gibbs",
    "minimize",
    "infer",
    "Minimum",
    "grid_1d",
    "grid_2d",
    "chain_energy",
    "chain_argmin",
    # shared by the methods
    "History",
    "NotFittedError",
    # methods
    "KMeans",
    # modules: base, core, methods
    "runtime",
    "base",
    "data",
    "energy",
    "samplers",
    "latent",
    "training",
    "kmeans",
    "sparse",
    "vae",
    "ssl",
    "optim",
    # loaded on first use: figures and widgets, exercises, instructor tools, benchmarks
    "show",
    "exercises",
    "tools",
    "bench",
]

# The layers above the mathematics load only when first used, so that ``import ebmlab`` does not
# import matplotlib, ipywidgets or the grader.
_ON_FIRST_USE = ("show", "exercises", "tools", "bench")


def __getattr__(name: str):
    if name in _ON_FIRST_USE:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ON_FIRST_USE))
