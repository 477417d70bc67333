r"""An isotropic Gaussian mixture in closed form: samples, score, posterior mean.

The toy on which score matching can be checked exactly. With means :math:`\mu_k`, weights
:math:`w_k` and one standard deviation :math:`s`,

.. math:: p(y) = \sum_k w_k\,\mathcal N(y;\mu_k, s^2 I),

and blurring it with Gaussian noise of standard deviation :math:`\sigma` gives the same mixture
with :math:`s^2 + \sigma^2` in place of :math:`s^2`: the score of every noise level is known.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import Int, Real, Seed, Tensor, as_tensor, checked
from ..runtime import generator

__all__ = ["mixture_sample", "mixture_score", "mixture_posterior_mean"]

POSITIVE = Real(low=0.0, low_open=True)


def noise_column(sigma, like: torch.Tensor, name: str = "sigma") -> torch.Tensor:
    """``sigma`` (a number, or one value per row of ``like``) as a positive ``(B, 1)`` column."""
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        sigma = np.asarray(sigma, dtype=np.float64)  # a number keeps its precision
    s = as_tensor(sigma, name, ndim=(0, 1)).to(like)
    if s.ndim == 1 and s.shape[0] != like.shape[0]:
        raise ValueError(
            f"{name} must be a number or have one value per row, ({like.shape[0]},); "
            f"got shape {tuple(s.shape)}"
        )
    if not bool((s > 0).all()):
        raise ValueError(f"{name} must be > 0; got a minimum of {s.min().item():g}")
    return s.reshape(-1, 1).expand(like.shape[0], 1)


def _components(means, weights) -> tuple[torch.Tensor, torch.Tensor]:
    if weights.shape != (means.shape[0],):
        raise ValueError(
            f"weights must have one entry per mean, ({means.shape[0]},); got {tuple(weights.shape)}"
        )
    if not bool((weights >= 0).all()) or not weights.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return means, weights / weights.sum()


def _responsibilities(Y, means, weights, var) -> torch.Tensor:
    """:math:`r_k(y) \\propto w_k \\mathcal N(y; \\mu_k, v)`, ``(B, K)``; ``var`` is ``(B, 1)``."""
    sq = ((Y[:, None, :] - means[None].to(Y)) ** 2).sum(-1)
    return torch.softmax(weights.to(Y).log()[None] - sq / (2 * var), dim=1)


@checked(n=Int(low=1), means=Tensor(2), weights=Tensor(1), std=POSITIVE, seed=Seed())
def mixture_sample(
    n: int, means: torch.Tensor, weights: torch.Tensor, std: float, seed: int | None = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw :math:`n` points of the mixture :math:`\sum_k w_k\,\mathcal N(\mu_k, s^2 I)`.

    Args:
        n: number of points.
        means: :math:`\mu_k`, ``(K, d)``.
        weights: :math:`w_k \ge 0`, ``(K,)`` (normalised here).
        std: :math:`s > 0`.
        seed: seed of the draws.

    Returns:
        The points ``(n, d)`` and their components ``(n,)`` (int64).
    """
    means, weights = _components(means, weights)
    g = generator(seed)
    k = torch.multinomial(weights.cpu(), n, replacement=True, generator=g)
    eps = torch.randn(n, means.shape[1], generator=g, dtype=means.dtype).to(means.device)
    return means[k.to(means.device)] + std * eps, k


@checked(Y=Tensor(2), means=Tensor(2), weights=Tensor(1))
def mixture_score(Y: torch.Tensor, means: torch.Tensor, weights: torch.Tensor, std) -> torch.Tensor:
    r"""The score :math:`\nabla_y \log p(y)` of an isotropic Gaussian mixture, in closed form.

    .. math:: \nabla_y \log p(y) = \sum_k r_k(y)\,\frac{\mu_k - y}{s^2},\qquad
              r_k(y) = \frac{w_k\,\mathcal N(y;\mu_k,s^2I)}{\sum_j w_j\,\mathcal N(y;\mu_j,s^2I)}

    The score of the data blurred by noise :math:`\sigma` is this with
    ``std`` :math:`=\sqrt{s^2+\sigma^2}`.

    Args:
        Y: points, ``(B, d)``.
        means: :math:`\mu_k`, ``(K, d)``.
        weights: :math:`w_k`, ``(K,)``.
        std: :math:`s > 0`, a number or one value per point, ``(B,)``.

    Returns:
        ``(B, d)``.
    """
    if means.shape[1] != Y.shape[1]:
        raise ValueError(f"means must have {Y.shape[1]} columns like Y; got {tuple(means.shape)}")
    means, weights = _components(means, weights)
    var = noise_column(std, Y, "std") ** 2
    r = _responsibilities(Y, means, weights, var)
    return (r @ means.to(Y) - Y) / var


@checked(Y=Tensor(2), means=Tensor(2), weights=Tensor(1), std=POSITIVE, sigma=POSITIVE)
def mixture_posterior_mean(
    Y: torch.Tensor, means: torch.Tensor, weights: torch.Tensor, std: float, sigma: float
) -> torch.Tensor:
    r"""The posterior mean :math:`\mathbb E[y \mid \tilde y]` of a clean mixture point given its
    noisy copy :math:`\tilde y = y + \sigma\varepsilon`, by Bayes' rule (no score involved).

    .. math:: \mathbb E[y\mid\tilde y] = \sum_k \tilde r_k(\tilde y)\,
              \frac{s^2\,\tilde y + \sigma^2\mu_k}{s^2+\sigma^2}

    with :math:`\tilde r_k` the responsibilities under the blurred mixture (variance
    :math:`s^2+\sigma^2`). Tweedie's formula gives the same from the blurred score.

    Args:
        Y: noisy points :math:`\tilde y`, ``(B, d)``.
        means: :math:`\mu_k`, ``(K, d)``.
        weights: :math:`w_k`, ``(K,)``.
        std: :math:`s > 0` of the clean mixture.
        sigma: :math:`\sigma > 0` of the noise.

    Returns:
        ``(B, d)``.
    """
    if means.shape[1] != Y.shape[1]:
        raise ValueError(f"means must have {Y.shape[1]} columns like Y; got {tuple(means.shape)}")
    means, weights = _components(means, weights)
    var = std**2 + sigma**2
    r = _responsibilities(Y, means, weights, torch.full((Y.shape[0], 1), var).to(Y))
    return (std**2 * Y + sigma**2 * (r @ means.to(Y))) / var
