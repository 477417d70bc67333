r"""Denoising diffusion (DDPM, Ho et al. 2020) as score matching at every noise level.

A fixed forward chain blurs the data step by step,
:math:`y_t = \sqrt{\bar\alpha_t}\,y_0 + \sigma_t\varepsilon` with
:math:`\bar\alpha_t = \prod_{u\le t}(1-\beta_u)` and :math:`\sigma_t = \sqrt{1-\bar\alpha_t}`.
DDPM trains a network :math:`\hat\varepsilon(y_t, t)` to predict the noise. Writing
:math:`\hat\varepsilon = -\sigma_t\,s(y_t, \sigma_t)` shows that its loss is the denoising
score matching loss of :mod:`.score` on the scaled data :math:`\sqrt{\bar\alpha_t}y_0` at noise
:math:`\sigma_t`, so the package trains one :class:`~ebmlab.training.NoiseConditionalScore` for
both. The reverse (ancestral) sampler is then a Langevin-like step on that score.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._validation import Boolean, Instance, Int, IsCallable, Real, Seed, Tensor, checked
from ..runtime import generator
from ..samplers import Samples
from ._checks import REDUCTION
from .fit import TrainConfig, _check_fit
from .models import FitResult
from .score import _SCORE_TRAINING, _apply, _dsm, _fit_levels

__all__ = ["DDPMSchedule", "ddpm_schedule", "ddpm_loss", "ddpm_sample", "fit_ddpm"]


class DDPMSchedule(NamedTuple):
    r"""The forward chain's variances; index ``t - 1`` holds step :math:`t = 1, \dots, T`."""

    betas: torch.Tensor
    r""":math:`\beta_t`, ``(T,)``."""
    alpha_bars: torch.Tensor
    r""":math:`\bar\alpha_t = \prod_{u \le t}(1 - \beta_u)`, ``(T,)``."""
    sigmas: torch.Tensor
    r"""The noise level of :math:`y_t`, :math:`\sigma_t = \sqrt{1 - \bar\alpha_t}`, ``(T,)``."""


@checked(
    steps=Int(low=1),
    beta_start=Real(low=0.0, high=1.0, low_open=True),
    beta_end=Real(low=0.0, high=1.0, low_open=True),
)
def ddpm_schedule(steps: int = 100, beta_start: float = 1e-3, beta_end: float = 0.1):
    r"""A linear schedule :math:`\beta_t` from ``beta_start`` to ``beta_end`` over ``steps``.

    Args:
        steps: :math:`T \ge 1`.
        beta_start, beta_end: :math:`0 < \beta_t \le 1`; ``beta_end < 1`` unless the last step
            should erase everything.

    Returns:
        :class:`DDPMSchedule` (float32).
    """
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    alpha_bars = torch.cumprod(1 - betas, 0)
    f = torch.float32
    return DDPMSchedule(betas.to(f), alpha_bars.to(f), (1 - alpha_bars).sqrt().to(f))


def _ddpm(score, Y, t, noise, schedule, reduction="mean"):
    a = schedule.alpha_bars.to(Y)[t].sqrt()[:, None]
    sig = schedule.sigmas.to(Y)[t]
    return 2 * _dsm(score, a * Y, sig, noise, reduction)


@checked(
    score=IsCallable(),
    Y=Tensor(2),
    t=Tensor(1, integer=True),
    noise=Tensor(2),
    schedule=Instance(DDPMSchedule),
    reduction=REDUCTION,
)
def ddpm_loss(
    score,
    Y: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    schedule: DDPMSchedule,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""DDPM's noise-prediction loss, with the noise predicted through a score.

    .. math:: \ell_i = \big\|\varepsilon_i - \hat\varepsilon(y_{t_i})\big\|^2,
              \qquad y_t = \sqrt{\bar\alpha_t}\,y_0 + \sigma_t\varepsilon,
              \qquad \hat\varepsilon = -\sigma_t\, s(y_t, \sigma_t)

    Since :math:`\|\varepsilon - \hat\varepsilon\|^2 = \|\sigma_t s + \varepsilon\|^2`, each
    term is twice :func:`~ebmlab.training.dsm_loss` on :math:`\sqrt{\bar\alpha_t}y_0` at noise
    :math:`\sigma_t`: DDPM is denoising score matching at every level of its chain.

    Args:
        score: callable ``(y, sigma) -> (B, d)``.
        Y: clean points :math:`y_0`, ``(N, d)``.
        t: the steps, ``(N,)`` integers in ``0 .. T-1`` (index ``t - 1`` of step :math:`t`).
        noise: :math:`\varepsilon`, ``(N, d)``.
        schedule: a :class:`DDPMSchedule`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """
    if noise.shape != Y.shape:
        raise ValueError(
            f"noise must have the shape of Y, {tuple(Y.shape)}; got {tuple(noise.shape)}"
        )
    T = schedule.betas.numel()
    if t.shape != (Y.shape[0],) or bool((t < 0).any()) or bool((t >= T).any()):
        raise ValueError(f"t must hold {Y.shape[0]} steps in 0..{T - 1}; got {t.tolist()}")
    return _ddpm(score, Y, t, noise, schedule, reduction)


@checked(
    score=IsCallable(),
    init=Tensor(2),
    schedule=Instance(DDPMSchedule),
    seed=Seed(),
    record=Boolean(),
)
def ddpm_sample(
    score,
    init: torch.Tensor,
    schedule: DDPMSchedule,
    *,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""DDPM's ancestral sampler, from :math:`y_T` = ``init`` (standard normal draws) down to
    :math:`y_0`.

    .. math:: y_{t-1} = \frac{1}{\sqrt{1-\beta_t}}\Big(y_t + \beta_t\,s(y_t, \sigma_t)\Big)
              + \sqrt{\beta_t}\,z_t,\qquad z_t\sim\mathcal N(0, I),\ z_1 = 0

    (Ho et al.'s :math:`\frac{1}{\sqrt{\alpha_t}}(y_t - \frac{\beta_t}{\sigma_t}\hat\varepsilon)
    + \sqrt{\beta_t} z`). For small :math:`\beta_t` this is a Langevin step of size
    :math:`\eta = \beta_t/2` on the score at level :math:`\sigma_t` (the noise
    :math:`\sqrt{\beta_t} = \sqrt{2\eta}`), plus the rescaling :math:`1/\sqrt{1-\beta_t}` that
    undoes the forward chain's shrinking: annealed Langevin with one step per level.

    Args:
        score: callable ``(y, sigma) -> (B, d)``.
        init: :math:`y_T`, ``(B, d)``.
        schedule: a :class:`DDPMSchedule`.
        seed: seed of the noise :math:`z_t`.
        record: keep every state in ``path``, ``(T + 1, B, d)``.

    Returns:
        :class:`~ebmlab.samplers.Samples` with ``acceptance=None``.
    """
    g = generator(seed)
    y = init.detach().clone()
    path = [y.clone()] if record else None
    betas, sigmas = schedule.betas.tolist(), schedule.sigmas.tolist()
    for t in reversed(range(len(betas))):
        with torch.no_grad():
            s = _apply(score, y, torch.full((y.shape[0],), sigmas[t]).to(y))
        y = (y + betas[t] * s) / (1 - betas[t]) ** 0.5
        if t > 0:
            z = torch.randn(y.shape, generator=g, dtype=y.dtype).to(y.device)
            y = y + betas[t] ** 0.5 * z
        if record:
            path.append(y.clone())
    return Samples(y, torch.stack(path) if record else None, None)


@checked(schedule=Instance(DDPMSchedule))
def fit_ddpm(
    model: nn.Module,
    Y: torch.Tensor,
    *,
    schedule: DDPMSchedule,
    config: TrainConfig = _SCORE_TRAINING,
) -> FitResult:
    r"""Train a score network by :func:`ddpm_loss`, a step :math:`t` drawn uniformly per point.

    Args:
        model: callable ``(y, sigma) -> (B, d)`` with parameters, e.g.
            :class:`~ebmlab.training.NoiseConditionalScore`, trained in place.
        Y: clean points :math:`y_0`, ``(N, d)``.
        schedule: a :class:`DDPMSchedule`.
        config: steps, learning rate, batch size and seed of the minibatches, steps and noise.

    Returns:
        :class:`FitResult` with ``negatives=None``.
    """
    Y = _check_fit(model, Y, config)
    return _fit_levels(
        model, Y, config, schedule.betas, lambda b, t, e: _ddpm(model, b, t, e, schedule)
    )
