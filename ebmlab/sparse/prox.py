r"""The energy, its proximal operator, and one step of ISTA or FISTA.

The sparse-coding energy :math:`\tfrac12\lVert y - Wz\rVert^2 + \lambda\lVert z\rVert_1`
(``sparse_energy``), soft thresholding, the proximal operator of its :math:`L_1` term
(``shrink``), the step parameter :math:`L` (``lipschitz``) and single steps (``ista_step``,
``fista_step``). The checks of dictionaries, signals and codes that the other modules of
``ebmlab.sparse`` share live here too.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .. import optim
from .._validation import Int, Options, Real, Seed, as_tensor, check_scalar, checked
from ..base import History
from ..runtime import generator

__all__ = ["SparseCode", "shrink", "sparse_energy", "lipschitz", "ista_step", "fista_step"]


# --------------------------------------------------------------------------- checks


def _check_dictionary(W, name: str = "W") -> torch.Tensor:
    W = as_tensor(W, name, ndim=2)
    norms = W.norm(dim=0)
    if bool((norms == 0).any()):
        j = int(torch.nonzero(norms == 0)[0, 0])
        raise ValueError(
            f"{name} has an all-zero column (atom {j}); every atom must have a non-zero norm"
        )
    return W


def _check_signals(Y, W: torch.Tensor, name: str = "Y") -> tuple[torch.Tensor, bool]:
    """Return ``Y`` as ``(B, n)`` in ``W``'s dtype, and whether it was a single vector."""
    Y = as_tensor(Y, name, ndim=(1, 2))
    if Y.shape[-1] != W.shape[0]:
        raise ValueError(
            f"{name} must have {W.shape[0]} features (the rows of W) in its last dimension; "
            f"got shape {tuple(Y.shape)}"
        )
    if Y.device != W.device:
        raise ValueError(f"{name} is on {Y.device} but W is on {W.device}; move them together")
    single = Y.ndim == 1
    return (Y[None] if single else Y).to(W.dtype), single


def _check_codes(z, B: int, k: int, W: torch.Tensor, name: str = "Z") -> torch.Tensor:
    z = as_tensor(z, name, ndim=(1, 2))
    z2 = z[None] if z.ndim == 1 else z
    if z2.shape != (B, k):
        raise ValueError(
            f"{name} must have shape ({B}, {k}) (one code of {k} entries per signal); "
            f"got {tuple(z.shape)}"
        )
    return z2.to(device=W.device, dtype=W.dtype)


def _check_L(L, W: torch.Tensor) -> float:
    if L is None:
        return _lipschitz(W)
    return check_scalar(L, "L", low=0.0, low_open=True)


# --------------------------------------------------------------------------- the energy


class SparseCode(NamedTuple):
    """The result of :func:`ista`, :func:`fista` or :func:`admm`."""

    z: torch.Tensor
    """The codes, ``(B, k)`` (or ``(k,)`` for one signal)."""
    n_iter: int
    """How many iterations were run (fewer than ``steps`` when ``tol`` stopped early)."""
    history: History | None
    """With ``SolverConfig(record=True)``, a :class:`~ebmlab.base.History` whose curve
    ``energy`` is the energy summed over the signals after each iteration (``n_iter + 1``
    entries; entry 0 is the start); otherwise ``None``."""


def shrink(x: torch.Tensor, threshold: float | torch.Tensor) -> torch.Tensor:
    r"""Soft thresholding, the proximal operator of :math:`\theta\lVert\cdot\rVert_1`.

    .. math:: \operatorname{shrink}_\theta(x) = \operatorname{sign}(x)\max(|x| - \theta, 0)
              = \arg\min_u \tfrac12 (u - x)^2 + \theta |u| .

    Entries within :math:`\theta` of zero become exactly zero; the others move :math:`\theta`
    towards zero. Computed as :math:`x - \operatorname{clamp}(x, -\theta, \theta)`
    (:func:`ebmlab.optim.shrink`, after the checks).

    Args:
        x: any tensor.
        threshold: :math:`\theta \ge 0`, a number or a tensor broadcastable to ``x`` (one
            threshold per code component, as in :class:`LISTA`).

    Returns:
        A tensor of ``x``'s shape.
    """
    x = as_tensor(x, "x", allow_empty=True)
    if isinstance(threshold, torch.Tensor) and threshold.numel() > 1:
        if bool((threshold < 0).any()):
            raise ValueError("threshold must be >= 0 everywhere; got a negative entry")
        return optim.shrink(x, threshold)
    return optim.shrink(x, check_scalar(threshold, "threshold", low=0.0))


@checked(lam=Real(low=0.0))
def sparse_energy(Y: torch.Tensor, W: torch.Tensor, Z: torch.Tensor, lam: float) -> torch.Tensor:
    r"""The sparse-coding energy of each (signal, code) pair.

    .. math:: E(y, z) = \tfrac12\lVert y - Wz\rVert_2^2 + \lambda\lVert z\rVert_1

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``, one atom per column.
        Z: codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).

    Returns:
        ``(B,)`` energies (a 0-D tensor for a single signal).
    """
    W = as_tensor(W, "W", ndim=2)
    Y, single = _check_signals(Y, W)
    Z = _check_codes(Z, Y.shape[0], W.shape[1], W)
    e = 0.5 * ((Y - Z @ W.T) ** 2).sum(dim=1) + lam * Z.abs().sum(dim=1)
    return e[0] if single else e


@checked(method=Options(("eigh", "power")), iters=Int(low=1), seed=Seed())
def lipschitz(W: torch.Tensor, method: str = "eigh", iters: int = 100, seed: int | None = 0):
    r"""The Lipschitz constant of the gradient of :math:`\tfrac12\lVert y - Wz\rVert^2`.

    .. math:: L = \lambda_{\max}(W^\top W) = \sigma_{\max}(W)^2

    A step of :math:`1/L` is the largest that ISTA and FISTA can take with a guarantee.

    Args:
        W: the dictionary, ``(n, k)``.
        method: ``"eigh"`` (exact, ``torch.linalg.eigvalsh`` of the Gram matrix) or ``"power"``
            (``iters`` rounds of power iteration :math:`v \leftarrow W^\top W v/\lVert\cdot\rVert`,
            which needs only products with :math:`W` and :math:`W^\top`; it approaches
            :math:`L` from below).
        iters: rounds of power iteration.
        seed: seed of the power iteration's random start.

    Returns:
        :math:`L` as a Python float.
    """
    W = _check_dictionary(W)
    if method == "eigh":
        return _lipschitz(W)
    v = torch.randn(W.shape[1], generator=generator(seed), dtype=torch.float64).to(W.device)
    W64 = W.to(torch.float64)
    v = optim.power_iteration(lambda u: W64.T @ (W64 @ u), v, iters)
    return float((W64 @ v).norm() ** 2)


def _lipschitz(W: torch.Tensor) -> float:
    # the exact L, the largest eigenvalue of the Gram matrix, in float64
    return float(torch.linalg.eigvalsh((W.T @ W).to(torch.float64))[-1])


# --------------------------------------------------------------------------- one step


def _ista_step(Y, W, Z, lam, L):
    grad = (Z @ W.T - Y) @ W
    return optim.shrink(Z - grad / L, lam / L)


@checked(lam=Real(low=0.0), L=Real(low=0.0, low_open=True))
def ista_step(
    Y: torch.Tensor, W: torch.Tensor, Z: torch.Tensor, lam: float, L: float
) -> torch.Tensor:
    r"""One ISTA step: a gradient step on the quadratic term, then shrinkage.

    .. math:: z \leftarrow \operatorname{shrink}_{\lambda/L}\!\Big(z - \tfrac1L W^\top(Wz - y)\Big)

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``.
        Z: current codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda \ge 0`.
        L: step parameter, at least :math:`\lambda_{\max}(W^\top W)` for a guaranteed descent.

    Returns:
        The new codes, shaped like ``Z``.
    """
    W = _check_dictionary(W)
    Y, _ = _check_signals(Y, W)
    Z2 = _check_codes(Z, Y.shape[0], W.shape[1], W)
    out = _ista_step(Y, W, Z2, lam, L)
    return out[0] if torch.as_tensor(Z).ndim == 1 else out


@checked(t=Real(low=1.0), lam=Real(low=0.0), L=Real(low=0.0, low_open=True))
def fista_step(
    Y: torch.Tensor,
    W: torch.Tensor,
    Z: torch.Tensor,
    Z_prev: torch.Tensor,
    t: float,
    lam: float,
    L: float,
) -> tuple[torch.Tensor, float]:
    r"""One FISTA step (Beck and Teboulle, 2009): extrapolate, then an ISTA step from there.

    .. math::

        t_{k+1} = \frac{1 + \sqrt{1 + 4t_k^2}}{2},\qquad
        x = z_k + \frac{t_k - 1}{t_{k+1}}\,(z_k - z_{k-1}),\qquad
        z_{k+1} = \operatorname{shrink}_{\lambda/L}\!\Big(x - \tfrac1L W^\top(Wx - y)\Big).

    Beck and Teboulle start from one ISTA step :math:`z_1` from :math:`z_0`, then call this
    with :math:`(z_1, z_0, t_1 = 1)`, :math:`(z_2, z_1, t_2)`, ... (:func:`fista` does exactly
    this). With :math:`t = 1` the step is an ISTA step.

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``.
        Z: current codes :math:`z_k`.
        Z_prev: previous codes :math:`z_{k-1}`, shaped like ``Z``.
        t: the momentum parameter :math:`t_k \ge 1`.
        lam: :math:`\lambda \ge 0`.
        L: at least :math:`\lambda_{\max}(W^\top W)`.

    Returns:
        ``(Z_next, t_next)``.
    """
    W = _check_dictionary(W)
    Y, _ = _check_signals(Y, W)
    Z2 = _check_codes(Z, Y.shape[0], W.shape[1], W)
    Zp = _check_codes(Z_prev, Y.shape[0], W.shape[1], W, name="Z_prev")
    t_next, weight = optim.fista_momentum(t)
    out = _ista_step(Y, W, Z2 + weight * (Z2 - Zp), lam, L)
    return (out[0] if torch.as_tensor(Z).ndim == 1 else out), t_next
