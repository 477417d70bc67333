r"""Langevin dynamics: gradient descent on the energy plus Gaussian noise (unadjusted Langevin).

:func:`ebmlab.samplers.reference.langevin` is the chain as the formula writes it; :func:`langevin`
here runs the same chain with a chosen noise scale, gradient clipping and a box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import Boolean, IsCallable, Real, Seed, check_fields, checked
from ..runtime import generator
from ._common import CHAIN, POSITIVE, Config, Points, Samples, _grad, _normal

# --------------------------------------------------------------------------- Langevin


@checked(
    energy=IsCallable(),
    y=Points(),
    noise=Points(),
    step_size=POSITIVE,
    noise_scale=Real(low=0.0, optional=True),
    beta=POSITIVE,
)
def langevin_step(
    energy: Callable[[torch.Tensor], torch.Tensor],
    y: torch.Tensor,
    noise: torch.Tensor,
    step_size: float,
    noise_scale: float | None = None,
    beta: float = 1.0,
) -> torch.Tensor:
    r"""One Langevin step with the noise given (deterministic, hence testable).

    .. math:: y \leftarrow y - \eta\,\nabla_y E(y) + \sigma\,\varepsilon,
              \qquad \sigma = \sqrt{2\eta/\beta}\ \text{by default}

    With :math:`\sigma = \sqrt{2\eta/\beta}` the chain samples :math:`e^{-\beta E}` as
    :math:`\eta \to 0`; with :math:`\sigma = 0` the step is one step of gradient descent.

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        y: current points, ``(B, d)``.
        noise: standard normal draws :math:`\varepsilon`, the shape of ``y``.
        step_size: :math:`\eta > 0`.
        noise_scale: :math:`\sigma \ge 0`; ``None`` for :math:`\sqrt{2\eta/\beta}`.
        beta: inverse temperature :math:`\beta > 0` (used only for the default
            ``noise_scale``).

    Returns:
        The new points, ``(B, d)``, detached from any graph.
    """
    if noise.shape != y.shape:
        raise ValueError(
            f"noise must have the shape of y, {tuple(y.shape)}; got {tuple(noise.shape)}"
        )
    sigma = math.sqrt(2 * step_size / beta) if noise_scale is None else noise_scale
    _, g = _grad(energy, y)
    return (y - step_size * g + sigma * noise.to(y)).detach()


@dataclass(frozen=True, kw_only=True)
class LangevinConfig:
    r"""The settings of a Langevin chain (checked when it is made).

    Args:
        steps: number of steps :math:`T \ge 0`.
        step_size: :math:`\eta > 0`.
        beta: inverse temperature :math:`\beta > 0` of the target density.
        noise_scale: :math:`\sigma \ge 0`; ``None`` for :math:`\sqrt{2\eta/\beta}`.
        grad_clip: if given, each row's gradient is rescaled to at most this norm
            (:math:`\operatorname{clip}_c`), which keeps a steep, untrained energy from throwing
            points far away.
        bounds: ``(low, high)``: after each step every coordinate is clamped into the box.
    """

    steps: int = 100
    step_size: float = 0.01
    beta: float = 1.0
    noise_scale: float | None = None
    grad_clip: float | None = None
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                **CHAIN,
                "noise_scale": Real(low=0.0, optional=True),
                "grad_clip": Real(low=0.0, low_open=True, optional=True),
            },
        )

    @property
    def sigma(self) -> float:
        r"""The noise scale used, ``noise_scale`` or else :math:`\sqrt{2\eta/\beta}`."""
        if self.noise_scale is None:
            return math.sqrt(2 * self.step_size / self.beta)
        return self.noise_scale


@checked(
    energy=IsCallable(),
    init=Points(),
    config=Config(LangevinConfig),
    seed=Seed(),
    record=Boolean(),
)
def langevin(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    config: LangevinConfig = LangevinConfig(),
    *,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""Unadjusted Langevin dynamics: noisy gradient descent on the energy.

    .. math:: y_{t+1} = \operatorname{clip}\big(y_t - \eta\,\operatorname{clip}_c(\nabla_y E(y_t))
              + \sigma\,\varepsilon_t\big),\qquad \varepsilon_t \sim \mathcal N(0, I)

    With :math:`\sigma = \sqrt{2\eta/\beta}` (the default) the chain's distribution tends to
    the Gibbs density :math:`e^{-\beta E}/Z` as the step :math:`\eta \to 0` and the number of
    steps grows; a finite :math:`\eta` leaves a bias of order :math:`\eta`. Contrastive divergence
    uses a few such steps started at the data; smaller noise (``noise_scale``) makes the chain
    greedier. With ``noise_scale=0`` it is exactly gradient descent
    (:func:`ebmlab.energy.minimize` with ``lr = step_size``). Without clipping and box it is
    :func:`ebmlab.samplers.reference.langevin`, step for step.

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        init: starting points, ``(B, d)``, one per chain.
        config: the chain's settings, a :class:`LangevinConfig`.
        seed: seed of the noise (``None``: drawn from torch's global stream).
        record: keep every state in ``path``.

    Returns:
        :class:`Samples` with ``acceptance=None``.
    """
    c = config
    sigma = c.sigma
    g_noise = generator(seed)
    y = init.detach().clone()
    path = [y.clone()] if record else None
    for _ in range(c.steps):
        _, g = _grad(energy, y)
        if c.grad_clip is not None:
            norm = g.norm(dim=1, keepdim=True).clamp_min(1e-12)
            g = g * (c.grad_clip / norm).clamp(max=1.0)
        y = y - c.step_size * g
        if sigma > 0:
            y = y + sigma * _normal(y.shape, y, g_noise)
        if c.bounds is not None:
            y = y.clamp(c.bounds[0], c.bounds[1])
        if record:
            path.append(y.clone())
    return Samples(y, torch.stack(path) if record else None, None)
