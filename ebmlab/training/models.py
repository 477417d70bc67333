r"""The trainable energies of :mod:`ebmlab.training` and what a ``fit_*`` function returns.

:class:`MLPEnergy` is a scalar energy :math:`E_W(y)`; :class:`DenoisingAutoencoder` is an
autoencoder whose reconstruction error is an energy; :class:`FitResult` holds a training run's
last contrastive points and its :class:`~ebmlab.base.History`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._validation import check_int
from ..base import History

__all__ = ["MLPEnergy", "DenoisingAutoencoder", "FitResult"]


# --------------------------------------------------------------------------- models


class MLPEnergy(nn.Module):
    r"""A scalar energy :math:`E_W(y)` computed by a small multilayer perceptron.

    .. math:: E_W(y) = w_L^\top \phi\big(\cdots \phi(W_1 y + b_1)\cdots\big) + b_L

    with :math:`\phi` the SiLU, a smooth activation: Langevin dynamics and HMC need
    :math:`\nabla_y E` to be continuous. The output bias :math:`b_L` lets the model shift its
    energies, which noise-contrastive estimation uses to learn the normalisation.

    Args:
        dim: dimension of :math:`y`.
        hidden: width of the hidden layers.
        depth: number of hidden layers (at least 1).
    """

    def __init__(self, dim: int = 2, hidden: int = 64, depth: int = 2):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        depth = check_int(depth, "depth", low=1)
        self.net = _silu_mlp(self.dim, hidden, depth, 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Energies of a batch: ``(B, dim) -> (B,)``."""
        _check_batch(y, self.dim)
        return self.net(y).squeeze(-1)


def _silu_mlp(d_in: int, hidden: int, depth: int, d_out: int) -> nn.Sequential:
    # depth hidden layers of width hidden, each a Linear and a SiLU, then a Linear to d_out
    layers: list[nn.Module] = []
    width = d_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def _check_batch(y, dim: int) -> None:
    # a model's input: a (B, dim) tensor
    if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] != dim:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must have shape (B, {dim}); got {got}")


class DenoisingAutoencoder(nn.Module):
    r"""An autoencoder whose reconstruction error is an energy.

    .. math:: E(y) = \|y - \mathrm{Dec}(\mathrm{Enc}(y))\|^2

    Trained to map corrupted points :math:`\tilde y = y + \sigma\varepsilon` back to the clean
    :math:`y` (:func:`dae_loss`), its reconstruction moves every point towards the data manifold;
    the energy is the squared length of that move, which grows quadratically with the distance
    from the manifold.

    Args:
        dim: dimension of :math:`y`.
        hidden: width of the hidden layers.
        code: dimension of the code :math:`\mathrm{Enc}(y)`.
    """

    def __init__(self, dim: int = 2, hidden: int = 64, code: int = 16):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        code = check_int(code, "code", low=1)
        self.encoder = nn.Sequential(
            nn.Linear(self.dim, hidden), nn.SiLU(), nn.Linear(hidden, code), nn.SiLU()
        )
        self.decoder = nn.Sequential(
            nn.Linear(code, hidden), nn.SiLU(), nn.Linear(hidden, self.dim)
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """The reconstruction :math:`\\mathrm{Dec}(\\mathrm{Enc}(y))`, ``(B, dim)``."""
        _check_batch(y, self.dim)
        return self.decoder(self.encoder(y))

    def energy(self, y: torch.Tensor) -> torch.Tensor:
        """The reconstruction energy :math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2`, ``(B,)``."""
        return ((y - self(y)) ** 2).sum(dim=1)


class FitResult(NamedTuple):
    """What a ``fit_*`` function returns (the model itself is trained in place)."""

    negatives: torch.Tensor | None
    """The last contrastive points (the persistent particles for PCD), or ``None``."""
    history: History
    """The training loss at every step, ``history.loss``, ``(steps,)``."""
