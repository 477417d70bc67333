r"""Score matching: learn :math:`\nabla_y \log p` instead of the energy.

The **score** of a density is :math:`s(y) = \nabla_y \log p(y)`; for an energy model
:math:`p \propto e^{-F}` it is :math:`-\nabla_y F(y)`, and the partition function has gone.
Hyvärinen's score matching fits :math:`s_\theta` to it without knowing it; its **denoising**
form (Vincent, 2011) needs only noisy copies of the data:

.. math:: \tilde y = y + \sigma\varepsilon,\qquad
          \mathcal L(\theta) = \tfrac12\,\mathbb E\,\sigma^2\big\|s_\theta(\tilde y, \sigma)
          + \varepsilon/\sigma\big\|^2,

minimised by the score of the blurred density :math:`p_\sigma = p * \mathcal N(0, \sigma^2 I)`.
**Tweedie's formula** turns that score into the best denoiser,
:math:`\mathbb E[y\mid\tilde y] = \tilde y + \sigma^2\nabla\log p_\sigma(\tilde y)`; read
backwards, a denoising autoencoder's residual :math:`(r(\tilde y) - \tilde y)/\sigma^2` is a
score estimate.

A score is a callable ``score(y, sigma) -> (B, d)`` (``sigma`` a number or a ``(B,)`` tensor);
:class:`NoiseConditionalScore` is one, a network told the noise level.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._validation import Int, IsCallable, Tensor, as_tensor, check_int, checked
from ..optim import minibatches, train
from ..runtime import generator
from ._checks import POSITIVE, REDUCTION, reduce
from .fit import TrainConfig, _check_fit
from .mixture import noise_column
from .models import FitResult, _check_batch, _silu_mlp

__all__ = ["dsm_loss", "tweedie_denoise", "NoiseConditionalScore", "fit_dsm", "geometric_sigmas"]

Score = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_SCORE_TRAINING = TrainConfig(steps=2000, lr=2e-3)  # the default of fit_dsm and fit_ddpm


def _apply(score: Score, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    s = score(y, sigma)
    if not isinstance(s, torch.Tensor) or s.shape != y.shape:
        got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
        raise ValueError(f"score must return a tensor of shape {tuple(y.shape)}; got {got}")
    return s


def _dsm(score, Y, sigma, noise, reduction="mean"):
    s = noise_column(sigma, Y)
    per = 0.5 * ((s * _apply(score, Y + s * noise, s[:, 0]) + noise) ** 2).sum(dim=1)
    return reduce(per, reduction)


@checked(score=IsCallable(), Y=Tensor(2), noise=Tensor(2), reduction=REDUCTION)
def dsm_loss(
    score: Score,
    Y: torch.Tensor,
    sigma: float | torch.Tensor,
    noise: torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Denoising score matching (Vincent, 2011), with the noise given.

    .. math:: \ell_i = \tfrac12\,\sigma_i^2\,\big\|s(\tilde y_i, \sigma_i)
              - \nabla_{\tilde y}\log q(\tilde y_i\mid y_i)\big\|^2
              = \tfrac12\,\big\|\sigma_i\,s(\tilde y_i, \sigma_i) + \varepsilon_i\big\|^2,
              \qquad \tilde y_i = y_i + \sigma_i\varepsilon_i

    (:math:`\nabla\log q(\tilde y\mid y) = -\varepsilon/\sigma`). The weight :math:`\sigma^2`
    (Song and Ermon, 2019) puts every noise level on the same scale. In expectation over the
    noise the loss equals :math:`\tfrac12\sigma^2\,\mathbb E\|s - \nabla\log p_\sigma\|^2` plus a
    constant, so its minimiser is the score of the blurred density :math:`p_\sigma`.

    Args:
        score: callable ``(y, sigma) -> (B, d)``; ``sigma`` arrives as a ``(N,)`` tensor.
        Y: clean points, ``(N, d)``.
        sigma: the noise level, :math:`\sigma > 0`: a number, or one per point, ``(N,)``.
        noise: the standard normal draws :math:`\varepsilon`, ``(N, d)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (each point's :math:`\ell_i`).
    """
    if noise.shape != Y.shape:
        raise ValueError(
            f"noise must have the shape of Y, {tuple(Y.shape)}; got {tuple(noise.shape)}"
        )
    return _dsm(score, Y, sigma, noise, reduction)


@checked(score=IsCallable(), Y=Tensor(2))
def tweedie_denoise(score: Score, Y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    r"""Tweedie's formula: the posterior mean of the clean point from the blurred score.

    .. math:: \mathbb E[y\mid\tilde y] = \tilde y + \sigma^2\,\nabla_{\tilde y}\log
              p_\sigma(\tilde y)

    Args:
        score: callable ``(y, sigma) -> (B, d)``, the score of the blurred density.
        Y: noisy points :math:`\tilde y`, ``(B, d)``.
        sigma: the noise level :math:`\sigma > 0` (a number or ``(B,)``).

    Returns:
        ``(B, d)``, detached.
    """
    s = noise_column(sigma, Y)
    with torch.no_grad():
        return Y + s**2 * _apply(score, Y, s[:, 0])


@checked(largest=POSITIVE, smallest=POSITIVE, levels=Int(low=1))
def geometric_sigmas(largest: float, smallest: float, levels: int) -> tuple[float, ...]:
    r"""A ladder of noise levels in geometric progression, largest first:
    :math:`\sigma_i = \sigma_1 (\sigma_L/\sigma_1)^{(i-1)/(L-1)}`.

    Args:
        largest: :math:`\sigma_1 > 0`.
        smallest: :math:`\sigma_L`, with :math:`0 < \sigma_L < \sigma_1` (when ``levels > 1``).
        levels: :math:`L \ge 1`; one level is ``(largest,)``.
    """
    hi, lo = largest, smallest
    if levels > 1 and not lo < hi:
        raise ValueError(f"smallest must be below largest; got {smallest} and {largest}")
    if levels == 1:
        return (hi,)
    return tuple(hi * (lo / hi) ** (i / (levels - 1)) for i in range(levels))


class NoiseConditionalScore(nn.Module):
    r"""A score network told the noise level: :math:`s_\theta(y, \sigma) = f_\theta(y,
    \log\sigma)/\sigma`.

    The division by :math:`\sigma` (Song and Ermon, 2020) lets the network's output keep one
    scale at every level, since the true score grows like :math:`1/\sigma`. :math:`f` is an MLP
    with SiLU activations on the input and :math:`\log\sigma`.

    Args:
        dim: dimension of :math:`y`.
        hidden: width of the hidden layers.
        depth: number of hidden layers (at least 1).
    """

    def __init__(self, dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        depth = check_int(depth, "depth", low=1)
        self.net = _silu_mlp(self.dim + 1, hidden, depth, self.dim)

    def forward(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """The score of a batch at noise ``sigma`` (a number or ``(B,)``): ``(B, dim)``."""
        _check_batch(y, self.dim)
        s = noise_column(sigma, y)
        return self.net(torch.cat([y, s.log()], dim=1)) / s


def _fit_levels(model, Y, config, levels: torch.Tensor, loss) -> FitResult:
    """Adam on ``loss(batch, level_index, noise)``: per step a minibatch, one level drawn
    uniformly for each point and fresh standard normal noise (the loop of :func:`fit_dsm` and
    :func:`ebmlab.training.fit_ddpm`)."""
    g = generator(config.seed)

    def step(t):
        (idx,) = minibatches(Y.shape[0], config.batch_size, g, replacement=True)
        batch = Y[idx.to(Y.device)]
        which = torch.randint(0, levels.numel(), (batch.shape[0],), generator=g)
        noise = torch.randn(batch.shape, generator=g, dtype=batch.dtype).to(batch.device)
        return loss(batch, which.to(batch.device), noise)

    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return FitResult(None, train(step, opt, [range(config.steps)]))


def fit_dsm(
    model: nn.Module,
    Y: torch.Tensor,
    *,
    sigmas,
    config: TrainConfig = _SCORE_TRAINING,
) -> FitResult:
    r"""Train a noise-conditional score by :func:`dsm_loss` over a ladder of noise levels.

    Each step draws a minibatch, a level :math:`\sigma_i` uniformly from ``sigmas`` for each
    point and fresh noise, and takes an Adam step on the mean of
    :math:`\tfrac12\|\sigma_i s_\theta(\tilde y, \sigma_i) + \varepsilon\|^2` — the loss of
    Song and Ermon (2019). One level trains a score at a single :math:`\sigma`.

    Args:
        model: callable ``(y, sigma) -> (B, d)`` with parameters, e.g.
            :class:`NoiseConditionalScore`, trained in place.
        Y: clean points, ``(N, d)``.
        sigmas: the noise levels, a sequence of numbers :math:`> 0`.
        config: steps, learning rate, batch size and seed of the minibatches, levels and noise.

    Returns:
        :class:`FitResult` with ``negatives=None``.
    """
    Y = _check_fit(model, Y, config)
    levels = as_tensor(list(sigmas) if isinstance(sigmas, tuple) else sigmas, "sigmas", ndim=1)
    if not bool((levels > 0).all()):
        raise ValueError(f"sigmas must all be > 0; got {levels.tolist()}")
    levels = levels.to(Y)
    return _fit_levels(model, Y, config, levels, lambda b, i, e: _dsm(model, b, levels[i], e))
