r"""The vocabulary of energy-based models: energies, inference, free energy, Gibbs.

An energy :math:`F(x, y)` is a scalar that is low when :math:`y` is compatible with
:math:`x` and high otherwise. Inference is minimisation, :math:`\check y = \arg\min_y F(x, y)`.
With a latent variable :math:`z` the model has an energy :math:`E(x, y, z)`, and eliminating
:math:`z` gives a *free energy*:

* zero temperature: :math:`F_\infty(x, y) = \min_z E(x, y, z)` (the minimum *value*, not the
  minimiser — ERRATA 2 of the source notes);
* inverse temperature :math:`\beta`:
  :math:`F_\beta(x, y) = -\frac{1}{\beta}\log\int_z e^{-\beta E(x, y, z)}\,dz`.

All functions here take energies already evaluated on a grid or on samples of :math:`z` (or
:math:`y`) along one dimension, so they are batched and work on any device.

Each function declares what its arguments may be (``@checked(...)``) and is checked once, when
called; the package's own callers, whose inputs are already checked, call the body alone,
``minimize.__wrapped__``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from ._validation import (
    Boolean,
    Int,
    IsCallable,
    Real,
    Tensor,
    as_tensor,
    check_dim,
    check_scalar,
    checked,
    row_energies,
)

__all__ = [
    "free_energy",
    "free_energy_min",
    "gibbs",
    "minimize",
    "infer",
    "Minimum",
    "grid_1d",
    "grid_2d",
    "chain_energy",
    "chain_argmin",
]


@checked(energies=Tensor(min_ndim=1))
def free_energy_min(energies: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Zero-temperature free energy :math:`F_\infty = \min_z E(z)` along ``dim``.

    Args:
        energies: energies :math:`E` evaluated at the points of a grid or at samples of
            :math:`z`, laid out along ``dim``.
        dim: the dimension that indexes :math:`z`.

    Returns:
        The minimum over ``dim`` (that dimension removed).
    """
    return energies.amin(dim=check_dim(dim, energies))


def _log_cell_volumes(dz, energies: torch.Tensor) -> float | torch.Tensor:
    r""":math:`\log\Delta z_i`, checked: ``dz`` is a positive step or a tensor of positive cell
    volumes broadcastable to ``energies``."""
    if not isinstance(dz, torch.Tensor):
        return math.log(check_scalar(dz, "dz", low=0.0, low_open=True))
    w = as_tensor(dz, "dz").to(energies.device, energies.dtype)
    if bool((w <= 0).any()):
        raise ValueError("dz must be positive everywhere")
    try:
        return torch.broadcast_to(w.log(), energies.shape)
    except RuntimeError:
        raise ValueError(
            f"dz must broadcast to energies' shape {tuple(energies.shape)}; got {tuple(w.shape)}"
        ) from None


@checked(energies=Tensor(min_ndim=1), beta=Real(low=0.0, low_open=True, allow_inf=True))
def free_energy(
    energies: torch.Tensor,
    beta: float,
    dim: int = -1,
    dz: float | torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Free energy at inverse temperature :math:`\beta`, by a stable log-sum-exp.

    Two conventions, and the difference matters:

    * ``dz=None`` — the **normalised** form, with the uniform measure on the :math:`N` points
      of :math:`z`:

      .. math:: F_\beta = -\frac{1}{\beta}\log\Big(\frac{1}{N}\sum_{i=1}^N e^{-\beta E(z_i)}\Big).

      It is a *soft minimum*: :math:`\min_i E \le F_\beta \le \frac1N\sum_i E(z_i)`, it decreases
      as :math:`\beta` grows, tends to the minimum as :math:`\beta\to\infty` and to the mean as
      :math:`\beta\to 0`.
    * ``dz`` given (a positive step, or a tensor of cell volumes broadcastable to
      ``energies``) — the lecture's **integral** :math:`-\frac1\beta\log\int e^{-\beta E}dz`
      as a Riemann sum:

      .. math:: F_\beta = -\frac{1}{\beta}\log\sum_{i} e^{-\beta E(z_i)}\,\Delta z_i.

      With a constant step it equals the normalised form minus
      :math:`\frac1\beta\log|Z|`, where :math:`|Z| = N\,\Delta z` is the volume of the latent
      space: the integral form depends on how big :math:`Z` is, the normalised one does not.

    ``beta=math.inf`` returns :func:`free_energy_min` for both forms.

    Args:
        energies: energies :math:`E(z_i)` along ``dim``.
        beta: inverse temperature, :math:`\beta > 0` (``math.inf`` allowed).
        dim: the dimension that indexes :math:`z`.
        dz: ``None`` for the normalised form, else the measure of each grid cell.

    Returns:
        :math:`F_\beta` with ``dim`` removed.
    """
    d = check_dim(dim, energies)
    log_dz = None if dz is None else _log_cell_volumes(dz, energies)
    if math.isinf(beta):  # the zero-temperature limit, in both forms
        return energies.amin(dim=d)
    if log_dz is None:  # normalised: the uniform probability 1/N on the N points
        return -(torch.logsumexp(-beta * energies, dim=d) - math.log(energies.shape[d])) / beta
    return -torch.logsumexp(-beta * energies + log_dz, dim=d) / beta


@checked(
    energies=Tensor(min_ndim=1),
    beta=Real(low=0.0, low_open=True),
    dy=Real(low=0.0, low_open=True, optional=True),
)
def gibbs(
    energies: torch.Tensor,
    beta: float,
    dim: int = -1,
    dy: float | None = None,
) -> torch.Tensor:
    r"""Gibbs (Boltzmann) distribution of energies on a grid.

    .. math:: P(y_i) = \frac{e^{-\beta F(y_i)}}{\sum_j e^{-\beta F(y_j)}}

    computed as a softmax of :math:`-\beta F` (stable for large energies). With ``dy`` the
    result is a *density*, :math:`p(y_i) = P(y_i)/\Delta y`, whose Riemann sum is 1 — the
    discretisation of :math:`e^{-\beta F(y)}/\int e^{-\beta F(y')}dy'`.

    Args:
        energies: :math:`F` on the grid points, along ``dim``.
        beta: inverse temperature, :math:`\beta > 0`. Large :math:`\beta` concentrates the mass
            on the minima; small :math:`\beta` flattens it.
        dim: the grid dimension.
        dy: grid step for a density; ``None`` for probabilities.
    """
    p = torch.softmax(-beta * energies, dim=check_dim(dim, energies))
    return p if dy is None else p / dy


class Minimum(NamedTuple):
    """Result of :func:`minimize`, :func:`infer` and :func:`chain_argmin`."""

    argmin: torch.Tensor
    """The minimiser found (one per row, or per ``x`` for :func:`infer`)."""
    value: torch.Tensor
    """The energy there."""
    path: torch.Tensor | None
    """Every iterate, shape ``(steps + 1, *init.shape)``, when ``record=True``; else ``None``."""


@checked(
    energy=IsCallable(),
    init=Tensor(min_ndim=1),
    steps=Int(low=0),
    lr=Real(low=0.0, low_open=True),
    record=Boolean(),
)
def minimize(
    energy: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    *,
    steps: int = 100,
    lr: float = 0.1,
    record: bool = False,
) -> Minimum:
    r"""Minimise an energy by gradient descent, independently for each row of ``init``.

    .. math:: u^{(t+1)} = u^{(t)} - \eta\,\nabla_u E(u^{(t)}), \qquad t = 0,\dots,T-1

    ``energy`` maps a batch shaped like ``init`` (rows first) to one energy per row. Rows do not
    interact, so summing the energies before ``backward`` gives each row its own gradient.
    Gradients are taken with autograd; the energy's own parameters are not changed.

    Args:
        energy: callable, ``(B, ...) -> (B,)``.
        init: starting points, ``(B, ...)``.
        steps: number of gradient steps :math:`T \ge 0`.
        lr: step size :math:`\eta > 0`.
        record: keep every iterate in ``path`` (for drawing trajectories).
    """
    u = init.detach().clone().requires_grad_(True)
    path = [u.detach().clone()] if record else None
    with torch.enable_grad():
        for _ in range(steps):
            e = row_energies(energy, u)
            (g,) = torch.autograd.grad(e.sum(), u)
            with torch.no_grad():
                u -= lr * g
            if record:
                path.append(u.detach().clone())
        final = row_energies(energy, u).detach()
    return Minimum(u.detach(), final, torch.stack(path) if record else None)


@checked(
    F=IsCallable(),
    x=Tensor(min_ndim=1),
    y_starts=Tensor(min_ndim=2),
    steps=Int(low=0),
    lr=Real(low=0.0, low_open=True),
    record=Boolean(),
)
def infer(
    F: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y_starts: torch.Tensor,
    *,
    steps: int = 100,
    lr: float = 0.1,
    record: bool = False,
) -> Minimum:
    r"""Inference :math:`\check y = \arg\min_y F(x, y)` by gradient descent from several starts.

    Gradient descent finds *a* local minimum; with several valleys (several valid :math:`y` for
    one :math:`x`) each start may land in a different one. ``infer`` runs every start and keeps,
    for each :math:`x`, the lowest energy reached.

    Args:
        F: energy, ``F(x, y) -> (B,)`` for ``x`` of shape ``(B, ...)`` and ``y`` of ``(B, ...)``.
        x: the observed inputs, ``(B, ...)``.
        y_starts: starting points, ``(S, B, ...)`` — ``S`` starts for each of the ``B`` inputs.
        steps, lr, record: as in :func:`minimize`.

    Returns:
        ``argmin`` ``(B, ...)`` and ``value`` ``(B,)`` of the best start; ``path``
        ``(steps + 1, S, B, ...)`` when ``record``.
    """
    if y_starts.shape[1] != x.shape[0]:
        raise ValueError(
            f"y_starts must have shape (S, B, ...) with B = len(x) = {x.shape[0]}; "
            f"got {tuple(y_starts.shape)}"
        )
    S, B = y_starts.shape[:2]
    xs = x.unsqueeze(0).expand(S, *x.shape).reshape(S * B, *x.shape[1:])
    res = minimize.__wrapped__(
        lambda y: F(xs, y),
        y_starts.reshape(S * B, *y_starts.shape[2:]),
        steps=steps,
        lr=lr,
        record=record,
    )
    ys = res.argmin.reshape(y_starts.shape)
    es = res.value.reshape(S, B)
    best = es.argmin(dim=0)  # (B,)
    idx = torch.arange(B, device=best.device)
    path = res.path.reshape(res.path.shape[0], *y_starts.shape) if record else None
    return Minimum(ys[best, idx], es[best, idx], path)


@checked(low=Real(), high=Real(), n=Int(low=1))
def grid_1d(low: float, high: float, n: int, **tensor_kw) -> tuple[torch.Tensor, float]:
    r"""``n`` cell centres covering :math:`[low, high]` and the step :math:`\Delta`.

    Cell centres (not end points) make :math:`\sum_i f(u_i)\Delta` the midpoint rule, whose
    error is :math:`O(\Delta^2)` for smooth :math:`f`.
    """
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    step = (high - low) / n
    return torch.linspace(low + step / 2, high - step / 2, n, **tensor_kw), step


def grid_2d(
    low: float, high: float, n: int, **tensor_kw
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A square ``n × n`` grid of cell centres: ``(U, V, points)``.

    ``U`` and ``V`` are ``(n, n)`` (``indexing="xy"``, ready for ``contourf``), ``points`` is
    ``(n*n, 2)`` with rows ``(U[i, j], V[i, j])`` in row-major order, so
    ``energy(points).reshape(n, n)`` lines up with ``U`` and ``V``. The arguments are those of
    :func:`grid_1d`, which checks them.
    """
    u, _ = grid_1d(low, high, n, **tensor_kw)
    U, V = torch.meshgrid(u, u, indexing="xy")
    return U, V, torch.stack([U.reshape(-1), V.reshape(-1)], dim=1)


def _check_pairwise(unary: torch.Tensor, pairwise: torch.Tensor) -> torch.Tensor:
    p = pairwise.to(unary.dtype)
    K = unary.shape[1]
    if p.shape != (K, K):
        raise ValueError(
            f"pairwise must have shape ({K}, {K}) to match unary's {K} states; got {tuple(p.shape)}"
        )
    return p


@checked(
    unary=Tensor(ndim=2),
    pairwise=Tensor(ndim=2),
    states=Tensor(ndim=(1, 2), integer=True),
)
def chain_energy(states: torch.Tensor, unary: torch.Tensor, pairwise: torch.Tensor) -> torch.Tensor:
    r"""Energy of a chain-structured model (a graphical model written as a sum of energies).

    .. math:: E(y_1,\dots,y_n) = \sum_{i=1}^{n} U_i(y_i) + \sum_{i=1}^{n-1} P(y_i, y_{i+1})

    Its Gibbs distribution :math:`e^{-E}/Z` factorises into
    :math:`\prod_i e^{-U_i}\prod_i e^{-P}`: adding energies multiplies factors.

    Args:
        states: integer configurations, ``(n,)`` or a batch ``(B, n)``, values in ``0..K-1``.
        unary: ``(n, K)`` table, ``unary[i, k]`` = :math:`U_i(k)`.
        pairwise: ``(K, K)`` table shared by every neighbouring pair.
    """
    u, p = unary, _check_pairwise(unary, pairwise)
    n, K = u.shape
    if states.shape[-1] != n:
        raise ValueError(
            f"states must have {n} entries per configuration (unary has {n} rows); "
            f"got {tuple(states.shape)}"
        )
    if bool((states < 0).any()) or bool((states >= K).any()):
        raise ValueError(f"states must lie in 0..{K - 1}")
    s = states.to(u.device)
    total = u.gather(1, s.reshape(-1, n).T).T.sum(-1)
    sb = s.reshape(-1, n)
    total = total + p[sb[:, :-1], sb[:, 1:]].sum(-1)
    return total.reshape(s.shape[:-1])


@checked(unary=Tensor(ndim=2), pairwise=Tensor(ndim=2))
def chain_argmin(unary: torch.Tensor, pairwise: torch.Tensor) -> Minimum:
    r"""Exact inference on a chain by dynamic programming (min-sum, i.e. Viterbi).

    .. math:: m_1(k) = U_1(k),\qquad m_{i+1}(k) = U_{i+1}(k) + \min_j\,[\,m_i(j) + P(j, k)\,]

    then :math:`\min E = \min_k m_n(k)` and back-tracking recovers the minimiser. It costs
    :math:`O(nK^2)` instead of the :math:`K^n` of trying every configuration.

    Returns:
        :class:`Minimum`: ``argmin``, the minimising states ``(n,)``, and ``value``, the minimum
        energy (``path`` is ``None``).
    """
    u, p = unary, _check_pairwise(unary, pairwise)
    n, _ = u.shape
    m = u[0]
    back = []
    for i in range(1, n):
        total = m[:, None] + p  # (previous state j, next state k)
        best, arg = total.min(dim=0)
        back.append(arg)
        m = u[i] + best
    value, last = m.min(dim=0)
    states = [last]
    for arg in reversed(back):
        states.append(arg[states[-1]])
    return Minimum(torch.stack(states[::-1]), value, None)
