"""ebmlab — the companion package of the course on energy-based models and self-supervised learning.

The math lives in small, batched torch functions, one module per idea, in the book's order:
``runtime`` and ``data``, then ``energy``, then the methods, then ``plot`` and ``widgets``, then
``exercises``. Everything listed in ``__all__`` is the public API (documented in the book's API
appendix).
"""

from __future__ import annotations

from . import (
    assign,
    cli,
    data,
    energy,
    exercises,
    grade,
    kmeans,
    latent,
    plot,
    runtime,
    samplers,
    sparse,
    ssl,
    training,
    vae,
    widgets,
)
from .data import (
    digits,
    ellipse,
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
    # methods
    "KMeans",
    # modules
    "assign",
    "cli",
    "grade",
    "kmeans",
    "latent",
    "data",
    "energy",
    "exercises",
    "plot",
    "runtime",
    "samplers",
    "sparse",
    "ssl",
    "training",
    "vae",
    "widgets",
]
