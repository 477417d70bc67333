r"""Monte Carlo samplers: plain Monte Carlo (importance resampling), random-walk
Metropolis–Hastings and Hamiltonian Monte Carlo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import Boolean, Int, IsCallable, Seed, check_fields, checked
from ..runtime import generator
from ._common import (
    CHAIN,
    Bounds,
    Config,
    Points,
    Samples,
    _energies,
    _grad,
    _inside,
    _normal,
    _uniform,
)

_RUN = {"energy": IsCallable(), "init": Points(), "seed": Seed(), "record": Boolean()}

# --------------------------------------------------------------------------- plain Monte Carlo


@dataclass(frozen=True, kw_only=True)
class MonteCarloConfig:
    r"""The settings of plain Monte Carlo (checked when it is made).

    Args:
        bounds: ``(low, high)``, the box of the proposals; **required**.
        steps: number of proposals per chain, :math:`T \ge 1`.
        beta: inverse temperature :math:`\beta > 0`.
    """

    bounds: tuple[float, float]
    steps: int = 100
    beta: float = 1.0

    def __post_init__(self) -> None:
        why = "the proposals of monte_carlo are uniform in it"
        check_fields(self, {**CHAIN, "steps": Int(low=1), "bounds": Bounds(required=True, why=why)})


@checked(**_RUN, config=Config(MonteCarloConfig))
def monte_carlo(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    config: MonteCarloConfig,
    *,
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
        config: the box, the number of proposals and :math:`\beta`, a
            :class:`MonteCarloConfig`.
        seed: seed of the proposals.
        record: keep the kept point after each proposal in ``path``.

    Returns:
        :class:`Samples` with ``acceptance=None``.
    """
    beta = config.beta
    g = generator(seed)
    low, high = config.bounds
    y = init.detach().clone()
    log_total = torch.full((y.shape[0],), -math.inf, dtype=y.dtype, device=y.device)
    path = [y.clone()] if record else None
    with torch.no_grad():
        for _ in range(config.steps):
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


@dataclass(frozen=True, kw_only=True)
class MetropolisConfig:
    r"""The settings of a random-walk Metropolis–Hastings chain (checked when it is made).

    Args:
        steps: number of proposals per chain.
        step_size: the proposal's standard deviation :math:`s > 0`. Small steps are accepted
            often but move little; large ones move far but are rejected often.
        beta: inverse temperature :math:`\beta > 0`.
        bounds: optional box ``(low, high)``; proposals outside it are rejected.
    """

    steps: int = 100
    step_size: float = 0.3
    beta: float = 1.0
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_fields(self, CHAIN)


@checked(**_RUN, config=Config(MetropolisConfig))
def metropolis_hastings(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    config: MetropolisConfig = MetropolisConfig(),
    *,
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
        config: the chain's settings, a :class:`MetropolisConfig`.
        seed: seed of the proposals and the accept/reject draws.
        record: keep every state in ``path``.

    Returns:
        :class:`Samples`, ``acceptance`` = share of accepted proposals per chain.
    """
    steps, step_size, beta, box = config.steps, config.step_size, config.beta, config.bounds
    g = generator(seed)
    y = init.detach().clone()
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


@dataclass(frozen=True, kw_only=True)
class HMCConfig:
    r"""The settings of a Hamiltonian Monte Carlo chain (checked when it is made).

    Args:
        steps: number of trajectories (proposals) per chain.
        step_size: leapfrog step :math:`\epsilon > 0`.
        beta: inverse temperature :math:`\beta > 0`.
        leapfrog: leapfrog steps per trajectory, :math:`L \ge 1`.
        bounds: optional box; a trajectory that ends outside it is rejected.
    """

    steps: int = 100
    step_size: float = 0.1
    beta: float = 1.0
    leapfrog: int = 10
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_fields(self, {**CHAIN, "leapfrog": Int(low=1)})


@checked(**_RUN, config=Config(HMCConfig))
def hmc(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    config: HMCConfig = HMCConfig(),
    *,
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
        config: the chain's settings, an :class:`HMCConfig`.
        seed: seed of the momenta and the accept/reject draws.
        record: keep the state after each trajectory in ``path``.

    Returns:
        :class:`Samples`, ``acceptance`` = share of accepted trajectories per chain.
    """
    steps, eps, beta, box = config.steps, config.step_size, config.beta, config.bounds
    leapfrog = config.leapfrog
    g = generator(seed)
    y = init.detach().clone()
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
