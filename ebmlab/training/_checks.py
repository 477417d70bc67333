"""The checks that the losses and training loops of :mod:`ebmlab.training` declare."""

from __future__ import annotations

import torch

from .._validation import Options, Real, Tensor

ENERGIES = Tensor(1)
POSITIVE = Real(low=0.0, low_open=True)
REDUCTION = Options(("mean", "sum", "none"))


def reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """The mean or the sum of the per-example losses, or (``"none"``) the losses themselves."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses
