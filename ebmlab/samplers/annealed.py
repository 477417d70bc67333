r"""Langevin dynamics driven by a score, over a ladder of noise levels (annealed Langevin).

A **score** is the gradient of a log density, :math:`s(y) = \nabla_y \log p(y)`; for a Gibbs
density :math:`p \propto e^{-E}` it is :math:`-\nabla_y E(y)`, so a Langevin step needs only the
score, never the energy. A *noise-conditional* score :math:`s(y, \sigma)` estimates the score of
the data blurred by Gaussian noise of standard deviation :math:`\sigma`; annealed Langevin
(Song and Ermon, 2019) runs a few steps at each level of a decreasing ladder
:math:`\sigma_1 > \dots > \sigma_L`, each level's chains starting where the previous ones ended.
With a ladder of one level it is plain Langevin on :math:`s(\cdot, \sigma_1)`.

The score is a callable ``score(y, sigma) -> (B, d)``, with ``y`` of shape ``(B, d)`` and
``sigma`` a number (or a ``(B,)`` tensor).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import Boolean, Int, IsCallable, Seed, check_fields, checked
from ..runtime import generator
from ._common import CHAIN, POSITIVE, Config, Points, Samples, _normal

__all__ = ["AnnealedLangevinConfig", "annealed_langevin", "annealed_langevin_step"]

Score = Callable[[torch.Tensor, float], torch.Tensor]


def _score(score: Score, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """The score at ``y``, checked to be ``(B, d)`` like ``y``."""
    s = score(y, sigma)
    if not isinstance(s, torch.Tensor) or s.shape != y.shape:
        got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
        raise ValueError(f"score must return a tensor of shape {tuple(y.shape)}; got {got}")
    return s.detach()


@checked(score=IsCallable(), y=Points(), noise=Points(), sigma=POSITIVE, step_size=POSITIVE)
def annealed_langevin_step(
    score: Score, y: torch.Tensor, noise: torch.Tensor, sigma: float, step_size: float
) -> torch.Tensor:
    r"""One Langevin step on a score at noise level :math:`\sigma`, with the noise given.

    .. math:: y \leftarrow y + \eta\, s(y, \sigma) + \sqrt{2\eta}\,\varepsilon

    With :math:`s = -\nabla_y E` this is :func:`ebmlab.samplers.langevin_step` at
    :math:`\beta = 1`.

    Args:
        score: callable ``(y, sigma) -> (B, d)``.
        y: current points, ``(B, d)``.
        noise: standard normal draws :math:`\varepsilon`, the shape of ``y``.
        sigma: the noise level :math:`\sigma > 0` the score is asked about.
        step_size: :math:`\eta > 0`.

    Returns:
        The new points, ``(B, d)``.
    """
    if noise.shape != y.shape:
        raise ValueError(
            f"noise must have the shape of y, {tuple(y.shape)}; got {tuple(noise.shape)}"
        )
    return y + step_size * _score(score, y, sigma) + math.sqrt(2 * step_size) * noise.to(y)


@dataclass(frozen=True, kw_only=True)
class AnnealedLangevinConfig:
    r"""The settings of annealed Langevin dynamics (checked when they are made).

    Args:
        sigmas: the ladder :math:`\sigma_1 > \sigma_2 > \dots > \sigma_L > 0`, largest first;
            one level is plain Langevin.
        steps: steps :math:`T \ge 1` at each level.
        step_size: :math:`\epsilon > 0`, the step at the smallest level; level :math:`i` uses
            :math:`\eta_i = \epsilon\,\sigma_i^2/\sigma_L^2`, so the ratio of the step to the
            noise's variance is the same at every level.
        bounds: ``(low, high)``: after each step every coordinate is clamped into the box.
    """

    sigmas: tuple[float, ...] = (1.0,)
    steps: int = 100
    step_size: float = 1e-3
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.sigmas, (str, bytes)) or not hasattr(self.sigmas, "__len__"):
            raise TypeError(
                f"sigmas must be a sequence of numbers; got {type(self.sigmas).__name__}"
            )
        sig = tuple(POSITIVE.check(s, f"sigmas[{i}]") for i, s in enumerate(self.sigmas))
        if not sig:
            raise ValueError("sigmas must hold at least one noise level; got an empty sequence")
        if any(b >= a for a, b in zip(sig, sig[1:])):
            raise ValueError(f"sigmas must decrease strictly (largest first); got {sig}")
        object.__setattr__(self, "sigmas", sig)
        check_fields(self, {**CHAIN, "steps": Int(low=1)})

    def step_sizes(self) -> tuple[float, ...]:
        r"""The step :math:`\eta_i = \epsilon\,\sigma_i^2/\sigma_L^2` of each level."""
        last = self.sigmas[-1]
        return tuple(self.step_size * (s / last) ** 2 for s in self.sigmas)


@checked(
    score=IsCallable(),
    init=Points(),
    config=Config(AnnealedLangevinConfig),
    seed=Seed(),
    record=Boolean(),
)
def annealed_langevin(
    score: Score,
    init: torch.Tensor,
    config: AnnealedLangevinConfig = AnnealedLangevinConfig(),
    *,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""Annealed Langevin dynamics (Song and Ermon, 2019): Langevin on :math:`s(\cdot,\sigma_i)`
    for each level of the ladder in turn.

    .. math:: y \leftarrow y + \eta_i\, s(y, \sigma_i) + \sqrt{2\eta_i}\,\varepsilon,
              \qquad \eta_i = \epsilon\,\sigma_i^2/\sigma_L^2,
              \quad i = 1, \dots, L,\ T \text{ steps each}

    At a large :math:`\sigma` the blurred density has mass everywhere between the modes, so the
    chains move between them and settle in proportion to their weights; the smaller levels then
    sharpen each chain inside its mode. Plain Langevin at a small :math:`\sigma` instead keeps
    each chain in the basin it started in, whatever the modes' weights.

    Args:
        score: callable ``(y, sigma) -> (B, d)``.
        init: starting points, ``(B, d)``, one per chain.
        config: the ladder and the steps, an :class:`AnnealedLangevinConfig`.
        seed: seed of the noise (``None``: drawn from torch's global stream).
        record: keep the state at the end of each level in ``path``, ``(L + 1, B, d)``.

    Returns:
        :class:`Samples` with ``acceptance=None``.
    """
    g = generator(seed)
    y = init.detach().clone()
    path = [y.clone()] if record else None
    for sigma, eta in zip(config.sigmas, config.step_sizes()):
        for _ in range(config.steps):
            y = y + eta * _score(score, y, sigma) + math.sqrt(2 * eta) * _normal(y.shape, y, g)
            if config.bounds is not None:
                y = y.clamp(*config.bounds)
        if record:
            path.append(y.clone())
    return Samples(y, torch.stack(path) if record else None, None)
