"""What every sampler shares: the :class:`Samples` it returns, the checks of its inputs and of its
configuration, its random draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .._validation import Constraint, Instance, Int, Real, Tensor, check_scalar
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


# --------------------------------------------------------------------------- declared checks


def Points() -> Tensor:  # noqa: N802 - reads as the constraint it makes
    """A batch of points ``(B, d)``: a finite floating tensor (lists and arrays are converted)."""
    return Tensor(ndim=2)


@dataclass(frozen=True)
class Bounds(Constraint):
    """``None`` or a box ``(low, high)`` with ``low < high``, returned as a pair of floats;
    ``required`` refuses ``None``, saying ``why`` the box is needed."""

    required: bool = False
    why: str = ""

    def check(self, value, name: str) -> tuple[float, float] | None:
        if value is None and not self.required:
            return None
        if value is None:
            raise ValueError(f"{name} must be given: {self.why}")
        if not isinstance(value, (tuple, list)):
            raise TypeError(
                f"{name} must be None or a pair (low, high); got {type(value).__name__}"
            )
        if len(value) != 2:
            raise ValueError(f"{name} must be None or a pair (low, high); got {value!r}")
        low = check_scalar(value[0], f"{name}[0]")
        high = check_scalar(value[1], f"{name}[1]")
        if not high > low:
            raise ValueError(f"{name} must satisfy low < high; got {value!r}")
        return low, high


Config = Instance  # a sampler's configuration, checked when it was made


POSITIVE = Real(low=0.0, low_open=True)
# The settings every chain has; each configuration adds its own.
CHAIN = {"steps": Int(low=0), "step_size": POSITIVE, "beta": POSITIVE, "bounds": Bounds()}


# --------------------------------------------------------------------------- shared steps


def _grad(
    energy: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies and their gradient with respect to the points (not the energy's parameters)."""
    with torch.enable_grad():
        u = y.detach().requires_grad_(True)
        e = _energies(energy, u)
        (g,) = torch.autograd.grad(e.sum(), u)
    return e.detach(), g


def _inside(y: torch.Tensor, box: tuple[float, float] | None) -> torch.Tensor:
    if box is None:
        return torch.ones(y.shape[0], dtype=torch.bool, device=y.device)
    return ((y >= box[0]) & (y <= box[1])).all(dim=1)


def _normal(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    # Draw on the CPU generator, then move: the same seed gives the same numbers on any device.
    return torch.randn(shape, generator=g, dtype=like.dtype).to(like.device)


def _uniform(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=like.dtype).to(like.device)
