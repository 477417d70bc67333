"""What every sampler shares: the :class:`Samples` it returns, its checks, its random draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from .._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from .._validation import row_energies as _energies  # one check for every energy callable


class Samples(NamedTuple):
    """Result of every sampler of :mod:`ebmlab.samplers`."""

    samples: torch.Tensor
    """The last state of each chain, ``(B, d)``."""
    path: torch.Tensor | None
    """Every state, ``(steps + 1, B, d)``, when ``record=True``."""
    acceptance: torch.Tensor | None
    """Per-chain share of accepted proposals, ``(B,)``, for the samplers that accept or reject
    (Metropolis–Hastings, HMC); ``None`` for the others."""


# --------------------------------------------------------------------------- shared checks


def _grad(
    energy: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies and their gradient with respect to the points (not the energy's parameters)."""
    with torch.enable_grad():
        u = y.detach().requires_grad_(True)
        e = _energies(energy, u)
        (g,) = torch.autograd.grad(e.sum(), u)
    return e.detach(), g


def _check_common(energy, init, steps, step_size, beta, bounds, seed):
    check_callable(energy, "energy")
    y0 = as_tensor(init, "init", ndim=2)
    steps = check_int(steps, "steps", low=0)
    step_size = check_scalar(step_size, "step_size", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    box = _check_bounds(bounds)
    return y0, steps, step_size, beta, box, check_seed(seed)


def _check_bounds(bounds) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)):
        raise TypeError(f"bounds must be None or a pair (low, high); got {type(bounds).__name__}")
    if len(bounds) != 2:
        raise ValueError(f"bounds must be None or a pair (low, high); got {bounds!r}")
    low = check_scalar(bounds[0], "bounds[0]")
    high = check_scalar(bounds[1], "bounds[1]")
    if not high > low:
        raise ValueError(f"bounds must satisfy low < high; got {bounds!r}")
    return low, high


def _inside(y: torch.Tensor, box: tuple[float, float] | None) -> torch.Tensor:
    if box is None:
        return torch.ones(y.shape[0], dtype=torch.bool, device=y.device)
    return ((y >= box[0]) & (y <= box[1])).all(dim=1)


def _normal(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    # Draw on the CPU generator, then move: the same seed gives the same numbers on any device.
    return torch.randn(shape, generator=g, dtype=like.dtype).to(like.device)


def _uniform(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=like.dtype).to(like.device)
