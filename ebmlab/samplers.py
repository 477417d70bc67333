r"""Samplers of a Gibbs density :math:`p(y) \propto e^{-\beta E(y)}`, all with one interface.

Contrastive training needs points where the model's energy is low but the data are not: the
points whose energy it then pushes up. The lecture lists the usual ways of finding them; each is a
function here, called the same way::

    sampler(energy, init, *, steps, step_size, beta=1.0, bounds=None, seed=None, record=False)

``energy`` maps a batch ``(B, d)`` to ``(B,)`` energies; ``init`` holds ``B`` starting points,
one per chain. Every sampler returns a :class:`Samples`.

* :func:`langevin` — gradient descent on the energy plus Gaussian noise (unadjusted Langevin);
  with zero noise it *is* gradient descent.
* :func:`monte_carlo` — plain Monte Carlo: uniform random points in a box, one kept per chain with
  probability proportional to :math:`e^{-\beta E}` (importance resampling). No gradient, no chain.
* :func:`metropolis_hastings` — a random walk whose moves are accepted with probability
  :math:`\min(1, e^{-\beta\Delta E})` (Markov chain Monte Carlo).
* :func:`hmc` — Hamiltonian Monte Carlo: the energy is a potential, a random momentum carries the
  point along a leapfrog trajectory, and a Metropolis test corrects the integration error.

Each draws its random numbers from a generator of its own (``seed``), so sampling does not
disturb torch's global random stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from ._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from .energy import _row_energies as _energies  # one check for every energy callable
from .runtime import generator

__all__ = ["Samples", "langevin", "langevin_step", "monte_carlo", "metropolis_hastings", "hmc"]


class Samples(NamedTuple):
    """Result of every sampler of :mod:`ebmlab.samplers`."""

    samples: torch.Tensor
    """The last state of each chain, ``(B, d)``."""
    path: torch.Tensor | None
    """Every state, ``(steps + 1, B, d)``, when ``record=True``."""
    acceptance: torch.Tensor | None
    """Per-chain share of accepted proposals, ``(B,)``, for the samplers that accept or reject
    (Metropolis–Hastings, HMC); ``None`` for the others."""


# --------------------------------------------------------------------------- shared checks


def _grad(
    energy: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies and their gradient with respect to the points (not the energy's parameters)."""
    with torch.enable_grad():
        u = y.detach().requires_grad_(True)
        e = _energies(energy, u)
        (g,) = torch.autograd.grad(e.sum(), u)
    return e.detach(), g


def _check_common(energy, init, steps, step_size, beta, bounds, seed):
    check_callable(energy, "energy")
    y0 = as_tensor(init, "init", ndim=2)
    steps = check_int(steps, "steps", low=0)
    step_size = check_scalar(step_size, "step_size", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    box = _check_bounds(bounds)
    return y0, steps, step_size, beta, box, check_seed(seed)


def _check_bounds(bounds) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, (tuple, list)):
        raise TypeError(f"bounds must be None or a pair (low, high); got {type(bounds).__name__}")
    if len(bounds) != 2:
        raise ValueError(f"bounds must be None or a pair (low, high); got {bounds!r}")
    low = check_scalar(bounds[0], "bounds[0]")
    high = check_scalar(bounds[1], "bounds[1]")
    if not high > low:
        raise ValueError(f"bounds must satisfy low < high; got {bounds!r}")
    return low, high


def _inside(y: torch.Tensor, box: tuple[float, float] | None) -> torch.Tensor:
    if box is None:
        return torch.ones(y.shape[0], dtype=torch.bool, device=y.device)
    return ((y >= box[0]) & (y <= box[1])).all(dim=1)


def _normal(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    # Draw on the CPU generator, then move: the same seed gives the same numbers on any device.
    return torch.randn(shape, generator=g, dtype=like.dtype).to(like.device)


def _uniform(shape, like: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=like.dtype).to(like.device)


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


# --------------------------------------------------------------------------- plain Monte Carlo


def monte_carlo(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    *,
    steps: int = 100,
    step_size: float = 1.0,
    beta: float = 1.0,
    bounds: tuple[float, float] | None = None,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""Plain Monte Carlo: uniform proposals in a box, resampled by their Gibbs weight.

    Each chain draws ``steps`` independent points :math:`u_1,\dots,u_T` uniformly in the box and
    keeps one, :math:`u_i` with probability

    .. math:: \frac{w_i}{\sum_j w_j}, \qquad w_i = e^{-\beta E(u_i)}

    (sampling–importance–resampling with a uniform proposal). The draw is done on the fly, one
    proposal at a time: after :math:`t` proposals the kept point is replaced by :math:`u_{t+1}`
    with probability :math:`w_{t+1}/\sum_{j\le t+1} w_j`, which ends with the same law. As
    :math:`T \to \infty` the kept points follow the Gibbs density restricted to the box. It needs
    no gradient, but in high dimension almost every uniform point has a negligible weight: this
    is why the lecture's plain Monte Carlo does not scale.

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        init: ``(B, d)``; sets the number of chains and the dimension (and is ``path[0]``).
        steps: number of proposals per chain, :math:`T \ge 1`.
        step_size: unused (kept for the common interface); must be positive.
        beta: inverse temperature :math:`\beta > 0`.
        bounds: ``(low, high)``, the box of the proposals; **required**.
        seed: seed of the proposals.
        record: keep the kept point after each proposal in ``path``.

    Returns:
        :class:`Samples` with ``acceptance=None``.
    """
    y0, steps, _, beta, box, seed = _check_common(
        energy, init, steps, step_size, beta, bounds, seed
    )
    if box is None:
        raise ValueError("bounds must be given for monte_carlo: the proposals are uniform in it")
    if steps < 1:
        raise ValueError(f"steps must be >= 1 for monte_carlo; got {steps}")
    g = generator(seed)
    low, high = box
    y = y0.detach().clone()
    log_total = torch.full((y.shape[0],), -math.inf, dtype=y.dtype, device=y.device)
    path = [y.clone()] if record else None
    with torch.no_grad():
        for _ in range(steps):
            u = low + (high - low) * _uniform(y.shape, y, g)
            log_w = -beta * _energies(energy, u).detach()
            log_w = torch.nan_to_num(log_w, nan=-math.inf)
            log_total = torch.logaddexp(log_total, log_w)
            take = torch.exp(log_w - log_total)  # w_{t+1} / sum_{j <= t+1} w_j
            take = torch.nan_to_num(take, nan=0.0)
            swap = _uniform(take.shape, y, g) < take
            y = torch.where(swap[:, None], u, y)
            if record:
                path.append(y.clone())
    return Samples(y, torch.stack(path) if record else None, None)


# --------------------------------------------------------------------------- Metropolis-Hastings


def metropolis_hastings(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    *,
    steps: int = 100,
    step_size: float = 0.3,
    beta: float = 1.0,
    bounds: tuple[float, float] | None = None,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""Random-walk Metropolis–Hastings (a Markov chain Monte Carlo method).

    Propose :math:`y' = y + s\,\varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`, and
    accept it with probability

    .. math:: \alpha = \min\big(1,\ e^{-\beta\,(E(y') - E(y))}\big),

    else stay. The proposal is symmetric, so the chain leaves :math:`e^{-\beta E}` invariant
    exactly (no step-size bias, unlike :func:`langevin`). Proposals outside ``bounds`` are
    rejected: the target is then the Gibbs density restricted to the box.

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        init: starting points, ``(B, d)``.
        steps: number of proposals per chain.
        step_size: the proposal's standard deviation :math:`s > 0`. Small steps are accepted
            often but move little; large ones move far but are rejected often.
        beta: inverse temperature :math:`\beta > 0`.
        bounds: optional box ``(low, high)``.
        seed: seed of the proposals and the accept/reject draws.
        record: keep every state in ``path``.

    Returns:
        :class:`Samples`, ``acceptance`` = share of accepted proposals per chain.
    """
    y0, steps, step_size, beta, box, seed = _check_common(
        energy, init, steps, step_size, beta, bounds, seed
    )
    g = generator(seed)
    y = y0.detach().clone()
    accepted = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
    path = [y.clone()] if record else None
    with torch.no_grad():
        e = _energies(energy, y).detach()
        for _ in range(steps):
            prop = y + step_size * _normal(y.shape, y, g)
            e_prop = _energies(energy, prop).detach()
            log_alpha = -beta * (e_prop - e)
            log_alpha = torch.where(
                _inside(prop, box) & torch.isfinite(e_prop), log_alpha, -math.inf
            )
            ok = torch.log(_uniform(e.shape, y, g)) < log_alpha
            y = torch.where(ok[:, None], prop, y)
            e = torch.where(ok, e_prop, e)
            accepted += ok.to(y.dtype)
            if record:
                path.append(y.clone())
    rate = accepted / steps if steps else torch.full_like(accepted, math.nan)
    return Samples(y, torch.stack(path) if record else None, rate)


# --------------------------------------------------------------------------- Hamiltonian MC


def hmc(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    *,
    steps: int = 100,
    step_size: float = 0.1,
    beta: float = 1.0,
    leapfrog: int = 10,
    bounds: tuple[float, float] | None = None,
    seed: int | None = None,
    record: bool = False,
) -> Samples:
    r"""Hamiltonian (hybrid) Monte Carlo.

    The potential is :math:`U(y) = \beta E(y)`; a momentum :math:`p \sim \mathcal N(0, I)` is drawn
    and :math:`(y, p)` moves along :math:`H(y, p) = U(y) + \tfrac12\|p\|^2` for ``leapfrog``
    steps of size :math:`\epsilon`:

    .. math:: p \leftarrow p - \tfrac{\epsilon}{2}\nabla U(y),\quad
              y \leftarrow y + \epsilon\,p,\quad
              p \leftarrow p - \tfrac{\epsilon}{2}\nabla U(y).

    The end point is accepted with probability :math:`\min(1, e^{H_0 - H_1})`. Exact dynamics
    would keep :math:`H` constant (acceptance 1); the leapfrog integrator is reversible and
    preserves volume, so the test corrects its small error exactly. Following the gradient lets
    HMC make long moves that are still accepted, where a random walk would be rejected.

    Args:
        energy: callable, ``(B, d) -> (B,)``.
        init: starting points, ``(B, d)``.
        steps: number of trajectories (proposals) per chain.
        step_size: leapfrog step :math:`\epsilon > 0`.
        beta: inverse temperature :math:`\beta > 0`.
        leapfrog: leapfrog steps per trajectory, :math:`L \ge 1`.
        bounds: optional box; a trajectory that ends outside it is rejected.
        seed: seed of the momenta and the accept/reject draws.
        record: keep the state after each trajectory in ``path``.

    Returns:
        :class:`Samples`, ``acceptance`` = share of accepted trajectories per chain.
    """
    y0, steps, eps, beta, box, seed = _check_common(
        energy, init, steps, step_size, beta, bounds, seed
    )
    leapfrog = check_int(leapfrog, "leapfrog", low=1)
    g = generator(seed)
    y = y0.detach().clone()
    accepted = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
    path = [y.clone()] if record else None
    e, grad = _grad(energy, y)
    for _ in range(steps):
        p = _normal(y.shape, y, g)
        h0 = beta * e + 0.5 * (p**2).sum(dim=1)
        q, gq = y, grad
        p = p - 0.5 * eps * beta * gq
        for i in range(leapfrog):
            q = q + eps * p
            e_q, gq = _grad(energy, q)
            if i < leapfrog - 1:
                p = p - eps * beta * gq
        p = p - 0.5 * eps * beta * gq
        h1 = beta * e_q + 0.5 * (p**2).sum(dim=1)
        log_alpha = torch.where(_inside(q, box) & torch.isfinite(h1), h0 - h1, -math.inf)
        ok = torch.log(_uniform(e.shape, y, g)) < log_alpha
        y = torch.where(ok[:, None], q, y)
        e = torch.where(ok, e_q, e)
        grad = torch.where(ok[:, None], gq, grad)
        accepted += ok.to(y.dtype)
        if record:
            path.append(y.clone())
    rate = accepted / steps if steps else torch.full_like(accepted, math.nan)
    return Samples(y, torch.stack(path) if record else None, rate)
