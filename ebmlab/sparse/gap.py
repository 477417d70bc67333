r"""The duality gap: a certificate of how far a code is from optimal.

``duality_gap``, and what the solvers of ``solvers.py`` share: the problem set up once for a
batch (the Gram matrix, :math:`W^\top y`, :math:`\lVert y\rVert^2`), each signal's gap and
energy from it, and the ``tol`` test that retires the signals whose gap is small enough.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import Real, checked
from ..base import History
from .prox import SparseCode, _check_codes, _check_dictionary, _check_L, _check_signals, _lipschitz

__all__ = ["duality_gap"]


def _prepare(Y, W, lam, z0, L):
    """The checks of the solvers' tensors, then :func:`_setup`; returns the problem and the
    starting codes."""
    W = _check_dictionary(W)
    Y, single = _check_signals(Y, W)
    L = _check_L(L, W)
    P = _setup(Y, W, lam, L, single)
    Z = _zeros(P) if z0 is None else _check_codes(z0, Y.shape[0], W.shape[1], W, "z0").clone()
    return P, Z


def _setup(Y, W, lam, L=None, single=False):
    """Everything an iteration needs, computed once, from checked tensors (``L`` default: the
    exact Lipschitz constant). With the Gram matrix G = W^T W an iteration is one
    (B x k)(k x k) product, z A + c with A = I - G/L and c = W^T y / L."""
    L = _lipschitz(W) if L is None else L
    k = W.shape[1]
    G = W.T @ W
    A = torch.eye(k, dtype=W.dtype, device=W.device) - G / L
    b = Y @ W
    return _Problem(Y, single, lam, L, G, A, b, (Y * Y).sum(dim=1))


def _zeros(P) -> torch.Tensor:
    # the default start, z = 0
    return torch.zeros(P.Y.shape[0], P.G.shape[0], dtype=P.G.dtype, device=P.G.device)


class _Problem(NamedTuple):
    Y: torch.Tensor
    single: bool
    lam: float
    L: float
    G: torch.Tensor  # W^T W
    A: torch.Tensor  # I - G / L
    b: torch.Tensor  # rows W^T y
    yy: torch.Tensor  # rows ||y||^2


def _gap_and_energy(Z, G, b, yy, lam, positive=False):
    """Each row's duality gap and energy, from the Gram matrix (one (B x k)(k x k) product).

    With ``positive`` (codes constrained to z >= 0) the dual constraint is one-sided,
    W^T theta <= lam, so only the positive correlations count."""
    q = Z @ G
    zb = (Z * b).sum(dim=1)
    rr = (yy - 2.0 * zb + (Z * q).sum(dim=1)).clamp_min(0.0)  # ||y - Wz||^2
    energy = 0.5 * rr + lam * Z.abs().sum(dim=1)
    corr = (b - q) if positive else (b - q).abs()
    corr = corr.amax(dim=1).clamp_min(0.0)  # ||W^T (y - Wz)||_inf, or its positive part
    s = torch.clamp(lam / corr.clamp_min(torch.finfo(Z.dtype).tiny), max=1.0)
    dual = s * (yy - zb) - 0.5 * s * s * rr
    return (energy - dual).clamp_min(0.0), energy


@checked(lam=Real(low=0.0, low_open=True))
def duality_gap(Y: torch.Tensor, W: torch.Tensor, Z: torch.Tensor, lam: float) -> torch.Tensor:
    r"""A certificate of optimality: the Lasso duality gap of each code.

    With the residual :math:`r = y - Wz`, the scaled residual
    :math:`\theta = r\,\min\big(1, \lambda/\lVert W^\top r\rVert_\infty\big)` is feasible for the
    dual problem :math:`\max_\theta\ \tfrac12\lVert y\rVert^2 - \tfrac12\lVert y - \theta\rVert^2`
    subject to :math:`\lVert W^\top\theta\rVert_\infty \le \lambda`, and

    .. math:: 0 \le E(y, z) - \min_{z'} E(y, z') \le
              \operatorname{gap}(z) = E(y, z) - \Big(\theta^\top y - \tfrac12\lVert\theta\rVert^2\Big).

    The gap is zero exactly at the minimiser, so it tells how far a code is from optimal
    without knowing the optimum; :func:`ista` and :func:`fista` stop on it.

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``.
        Z: codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda > 0`.

    Returns:
        ``(B,)`` gaps (a 0-D tensor for one signal).
    """
    W = _check_dictionary(W)
    Y, single = _check_signals(Y, W)
    Z = _check_codes(Z, Y.shape[0], W.shape[1], W)
    gap, _ = _gap_and_energy(Z, W.T @ W, Y @ W, (Y * Y).sum(dim=1), lam)
    return gap[0] if single else gap


def _energies(P: _Problem, Z: torch.Tensor) -> torch.Tensor:
    return _gap_and_energy(Z, P.G, P.b, P.yy, P.lam)[1]


def _finish(P: _Problem, Z, done, hist) -> SparseCode:
    history = None
    if hist:  # the energy summed over the signals, after each iteration
        history = History({"energy": torch.stack(hist).double().sum(dim=1)})
    return SparseCode(Z[0] if P.single else Z, done, history)


def _retire(P: _Problem, tol, positive, recording, out, rows, Z, b, yy, *rest):
    """The ``tol`` test of :func:`fista` and :func:`admm`: signals whose relative duality gap
    is at most ``tol`` are written to ``out`` and leave the batch (unless ``recording``: then
    all of them stay until all are done). Returns ``(stop, (rows, Z, b, yy, *rest))``, every
    per-signal tensor cut down to the signals still going."""
    gap, energy = _gap_and_energy(Z, P.G, b, yy, P.lam, positive)
    going = gap > tol * energy
    if recording or bool(going.all()):
        return not bool(going.any()), (rows, Z, b, yy, *rest)
    out[rows[~going]] = Z[~going]
    kept = tuple(v[going] for v in (rows, Z, b, yy, *rest))
    return kept[0].numel() == 0, kept
