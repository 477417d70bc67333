r"""Toy sets for the lectures' figures: several valid outputs for one input, curves in the plane.

Each is drawn from a seeded generator of its own (torch's global random stream is not disturbed).
"""

from __future__ import annotations

import math

import torch

from .._validation import Int, Real, Seed, as_tensor, checked
from ..runtime import generator

# Three curves y = f_k(x), with weights chosen so that their average lies on none of them: the
# top branch carries half the mass, so E[y | x] falls in the wide gap between the middle and the
# top branch, at least 0.4 from every branch for every x in [-1, 1]. A least-squares predictor,
# which learns the average, predicts a y that never occurs.
_BRANCH_WEIGHTS = (0.25, 0.25, 0.5)
_COUNT, _NOISE, _POSITIVE = Int(low=1), Real(low=0.0), Real(low=0.0, low_open=True)


def _branches(x: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        [-1.6 + 0.3 * x, -0.6 + 0.25 * torch.sin(3 * x), 1.2 - 0.3 * x + 0.2 * x**2], dim=-1
    )


def multimodal_branches(x: torch.Tensor) -> torch.Tensor:
    r"""The three valid outputs for each input of :func:`multimodal_1d`.

    .. math:: f_0(x) = -1.6 + 0.3x,\quad f_1(x) = -0.6 + 0.25\sin 3x,\quad f_2(x) = 1.2 - 0.3x + 0.2x^2

    Args:
        x: inputs of any shape.

    Returns:
        ``x.shape + (3,)``: the three branches at each ``x``.
    """
    return _branches(as_tensor(x, "x", allow_empty=True))


@checked(n=_COUNT, noise=_NOISE, seed=Seed())
def multimodal_1d(
    n: int = 600, noise: float = 0.05, seed: int | None = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A regression set with **three valid** :math:`y` **for one** :math:`x`.

    :math:`x \sim U[-1, 1]`, a branch :math:`k \in \{0, 1, 2\}` with probabilities
    ``(0.25, 0.25, 0.5)``, and :math:`y = f_k(x) + \varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)` (see :func:`multimodal_branches`).
    The conditional mean :math:`\mathbb E[y\mid x] = \sum_k p_k f_k(x)` lies in the gap between
    :math:`f_1` and :math:`f_2`, at least 0.4 from every branch: it is never a valid output.

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 1)`` and the branch index ``k`` ``(n,)``.
    """
    g = generator(seed)
    x = torch.rand(n, generator=g) * 2 - 1
    k = torch.multinomial(torch.tensor(_BRANCH_WEIGHTS), n, replacement=True, generator=g)
    y = _branches(x).gather(1, k[:, None]).squeeze(1)
    y = y + noise * torch.randn(n, generator=g)
    return x[:, None], y[:, None], k


@checked(n=_COUNT, w1=_POSITIVE, w2=_POSITIVE, noise=_NOISE, seed=Seed())
def ellipse(
    n: int = 500,
    w1: float = 2.0,
    w2: float = 1.0,
    noise: float = 0.05,
    seed: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Points near an ellipse: :math:`y = (w_1\cos z, w_2\sin z) + \varepsilon`.

    :math:`z \sim U[0, 2\pi)` is the latent variable the model will have to infer.

    Returns:
        ``y`` ``(n, 2)`` and the true latent ``z`` ``(n,)``.
    """
    g = generator(seed)
    z = torch.rand(n, generator=g) * 2 * math.pi
    y = torch.stack([w1 * torch.cos(z), w2 * torch.sin(z)], dim=1)
    return y + noise * torch.randn(n, 2, generator=g), z


@checked(n=_COUNT, w1=_POSITIVE, w2=_POSITIVE, noise=_NOISE, seed=Seed())
def horn(
    n: int = 1000,
    w1: float = 1.5,
    w2: float = 2.0,
    noise: float = 0.05,
    seed: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The "horn" of the free-energy lecture: an ellipse whose radii depend on :math:`x`.

    .. math::

        x \sim U[0, 1],\quad z \sim U[0, 2\pi),\quad
        \rho(x) = \big(w_1 x + w_2(1-x),\; w_2 x + w_1(1-x)\big)\,e^{2x},\\
        y = \big(\rho_1(x)\sin z,\; \rho_2(x)\cos z\big) + \varepsilon .

    For a fixed :math:`x` the valid :math:`y` form an ellipse; stacked along :math:`x` they form
    a horn. Conditioned on :math:`x`, every point of the ellipse is a valid :math:`y`: the
    latent :math:`z` says which one.

    Args:
        n: number of samples.
        w1, w2: the semi-axes :math:`\rho(1)e^{-2}` of the ellipse at :math:`x = 1`, before its
            growth :math:`e^{2x}`; at :math:`x = 0` they are swapped, :math:`\rho(0) = (w_2, w_1)`.
        noise: standard deviation of the additive noise.
        seed: seed of the data's own generator.

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 2)``, the true latent ``z`` ``(n,)``.
    """
    g = generator(seed)
    x = torch.rand(n, generator=g)
    z = torch.rand(n, generator=g) * 2 * math.pi
    scale = torch.exp(2 * x)
    r1 = (w1 * x + w2 * (1 - x)) * scale
    r2 = (w2 * x + w1 * (1 - x)) * scale
    y = torch.stack([r1 * torch.sin(z), r2 * torch.cos(z)], dim=1)
    return x[:, None], y + noise * torch.randn(n, 2, generator=g), z


@checked(n=_COUNT, noise=_NOISE, turns=_POSITIVE, seed=Seed())
def spiral(
    n: int = 1000, noise: float = 0.02, turns: float = 1.5, seed: int | None = 0
) -> torch.Tensor:
    r"""Points near an Archimedean spiral in the plane.

    .. math:: t \sim U[0.1, 1],\quad y = t\,(\cos 2\pi\tau t,\ \sin 2\pi\tau t) + \varepsilon

    with :math:`\tau` = ``turns``. Returns ``(n, 2)``, roughly inside the unit disc.
    """
    g = generator(seed)
    t = 0.1 + 0.9 * torch.rand(n, generator=g)
    angle = 2 * math.pi * turns * t
    y = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    return y + noise * torch.randn(n, 2, generator=g)
