r"""Langevin dynamics: gradient descent on the energy plus Gaussian noise (unadjusted Langevin)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validation import as_tensor, check_callable, check_scalar
from ..runtime import generator
from ._common import Samples, _check_common, _grad, _normal

# --------------------------------------------------------------------------- Langevin


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
    check_callable(energy, "energy")
    y = as_tensor(y, "y", ndim=2)
    eps = as_tensor(noise, "noise", ndim=2)
    if eps.shape != y.shape:
        raise ValueError(
            f"noise must have the shape of y, {tuple(y.shape)}; got {tuple(eps.shape)}"
        )
    step_size = check_scalar(step_size, "step_size", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    sigma = (
        math.sqrt(2 * step_size / beta)
        if noise_scale is None
        else check_scalar(noise_scale, "noise_scale", low=0.0)
    )
    _, g = _grad(energy, y)
    return (y - step_size * g + sigma * eps.to(y)).detach()


def langevin(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    *,
    steps: int = 100,
    step_size: float = 0.01,
    beta: float = 1.0,
    noise_scale: float | None = None,
    grad_clip: float | None = None,
    bounds: tuple[float, float] | None = None,
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
    (:func:`ebmlab.energy.minimize` with ``lr = step_size``).

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        init: starting points, ``(B, d)``, one per chain.
        steps: number of steps :math:`T \ge 0`.
        step_size: :math:`\eta > 0`.
        beta: inverse temperature :math:`\beta > 0` of the target density.
        noise_scale: :math:`\sigma \ge 0`; ``None`` for :math:`\sqrt{2\eta/\beta}`.
        grad_clip: if given, each row's gradient is rescaled to at most this norm
            (:math:`\operatorname{clip}_c`), which keeps a steep, untrained energy from throwing
            points far away.
        bounds: ``(low, high)``: after each step every coordinate is clamped into the box.
        seed: seed of the noise (``None``: drawn from torch's global stream).
        record: keep every state in ``path``.

    Returns:
        :class:`Samples` with ``acceptance=None``.
    """
    y0, steps, step_size, beta, box, seed = _check_common(
        energy, init, steps, step_size, beta, bounds, seed
    )
    sigma = (
        math.sqrt(2 * step_size / beta)
        if noise_scale is None
        else check_scalar(noise_scale, "noise_scale", low=0.0)
    )
    if grad_clip is not None:
        grad_clip = check_scalar(grad_clip, "grad_clip", low=0.0, low_open=True)
    g_noise = generator(seed)
    y = y0.detach().clone()
    path = [y.clone()] if record else None
    for _ in range(steps):
        _, g = _grad(energy, y)
        if grad_clip is not None:
            norm = g.norm(dim=1, keepdim=True).clamp_min(1e-12)
            g = g * (grad_clip / norm).clamp(max=1.0)
        y = y - step_size * g
        if sigma > 0:
            y = y + sigma * _normal(y.shape, y, g_noise)
        if box is not None:
            y = y.clamp(box[0], box[1])
        if record:
            path.append(y.clone())
    return Samples(y, torch.stack(path) if record else None, None)
