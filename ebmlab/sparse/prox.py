r"""The energy, its proximal operator, and one step of ISTA or FISTA.

The sparse-coding energy :math:`\tfrac12\lVert y - Wz\rVert^2 + \lambda\lVert z\rVert_1`
(``sparse_energy``), soft thresholding, the proximal operator of its :math:`L_1` term
(``shrink``), the step parameter :math:`L` (``lipschitz``) and single steps (``ista_step``,
``fista_step``). The checks of dictionaries, signals and codes that the other modules of
``ebmlab.sparse`` share live here too.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validation import as_tensor, check_int, check_scalar, check_seed
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


def _check_signals(y, W: torch.Tensor, name: str = "y") -> tuple[torch.Tensor, bool]:
    """Return ``y`` as ``(B, n)`` in ``W``'s dtype, and whether it was a single vector."""
    y = as_tensor(y, name, ndim=(1, 2))
    if y.shape[-1] != W.shape[0]:
        raise ValueError(
            f"{name} must have {W.shape[0]} features (the rows of W) in its last dimension; "
            f"got shape {tuple(y.shape)}"
        )
    if y.device != W.device:
        raise ValueError(f"{name} is on {y.device} but W is on {W.device}; move them together")
    single = y.ndim == 1
    return (y[None] if single else y).to(W.dtype), single


def _check_codes(z, B: int, k: int, W: torch.Tensor, name: str = "z") -> torch.Tensor:
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
        return lipschitz(W)
    return check_scalar(L, "L", low=0.0, low_open=True)


# --------------------------------------------------------------------------- the energy


class SparseCode(NamedTuple):
    """The result of :func:`ista` or :func:`fista`."""

    z: torch.Tensor
    """The codes, ``(B, k)`` (or ``(k,)`` for one signal)."""
    iterations: int
    """How many iterations were run (fewer than ``steps`` when ``tol`` stopped early)."""
    history: torch.Tensor | None
    """With ``record=True``, the energy of every signal after each iteration,
    ``(iterations + 1, B)`` (row 0 is the start); otherwise ``None``."""


def shrink(x: torch.Tensor, threshold: float | torch.Tensor) -> torch.Tensor:
    r"""Soft thresholding, the proximal operator of :math:`\theta\lVert\cdot\rVert_1`.

    .. math:: \operatorname{shrink}_\theta(x) = \operatorname{sign}(x)\max(|x| - \theta, 0)
              = \arg\min_u \tfrac12 (u - x)^2 + \theta |u| .

    Entries within :math:`\theta` of zero become exactly zero; the others move :math:`\theta`
    towards zero. Computed as :math:`x - \operatorname{clamp}(x, -\theta, \theta)`.

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
        return x - torch.maximum(torch.minimum(x, threshold), -threshold)
    theta = check_scalar(threshold, "threshold", low=0.0)
    return x - x.clamp(-theta, theta)


def sparse_energy(W: torch.Tensor, y: torch.Tensor, z: torch.Tensor, lam: float) -> torch.Tensor:
    r"""The sparse-coding energy of each (signal, code) pair.

    .. math:: E(y, z) = \tfrac12\lVert y - Wz\rVert_2^2 + \lambda\lVert z\rVert_1

    Args:
        W: the dictionary, ``(n, k)``, one atom per column.
        y: signals, ``(B, n)`` or ``(n,)``.
        z: codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).

    Returns:
        ``(B,)`` energies (a 0-D tensor for a single signal).
    """
    W = as_tensor(W, "W", ndim=2)
    Y, single = _check_signals(y, W)
    Z = _check_codes(z, Y.shape[0], W.shape[1], W)
    lam = check_scalar(lam, "lam", low=0.0)
    e = 0.5 * ((Y - Z @ W.T) ** 2).sum(dim=1) + lam * Z.abs().sum(dim=1)
    return e[0] if single else e


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
    if method not in {"eigh", "power"}:
        raise ValueError(f"method must be 'eigh' or 'power'; got {method!r}")
    iters = check_int(iters, "iters", low=1)
    if method == "eigh":
        G = (W.T @ W).to(torch.float64)
        return float(torch.linalg.eigvalsh(G)[-1])
    g = generator(check_seed(seed))
    v = torch.randn(W.shape[1], generator=g, dtype=torch.float64).to(W.device)
    W64 = W.to(torch.float64)
    for _ in range(iters):
        v = W64.T @ (W64 @ v)
        v = v / v.norm()
    return float((W64 @ v).norm() ** 2)


# --------------------------------------------------------------------------- one step


def ista_step(
    W: torch.Tensor, y: torch.Tensor, z: torch.Tensor, lam: float, L: float
) -> torch.Tensor:
    r"""One ISTA step: a gradient step on the quadratic term, then shrinkage.

    .. math:: z \leftarrow \operatorname{shrink}_{\lambda/L}\!\Big(z - \tfrac1L W^\top(Wz - y)\Big)

    Args:
        W: the dictionary, ``(n, k)``.
        y: signals, ``(B, n)`` or ``(n,)``.
        z: current codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda \ge 0`.
        L: step parameter, at least :math:`\lambda_{\max}(W^\top W)` for a guaranteed descent.

    Returns:
        The new codes, shaped like ``z``.
    """
    W = _check_dictionary(W)
    Y, _ = _check_signals(y, W)
    Z = _check_codes(z, Y.shape[0], W.shape[1], W)
    lam = check_scalar(lam, "lam", low=0.0)
    L = check_scalar(L, "L", low=0.0, low_open=True)
    grad = (Z @ W.T - Y) @ W
    out = shrink(Z - grad / L, lam / L)
    return out.reshape(torch.as_tensor(z).shape) if torch.as_tensor(z).ndim == 1 else out


def fista_step(
    W: torch.Tensor,
    y: torch.Tensor,
    z: torch.Tensor,
    z_prev: torch.Tensor,
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
        W: the dictionary, ``(n, k)``.
        y: signals, ``(B, n)`` or ``(n,)``.
        z: current codes :math:`z_k`.
        z_prev: previous codes :math:`z_{k-1}`, shaped like ``z``.
        t: the momentum parameter :math:`t_k \ge 1`.
        lam: :math:`\lambda \ge 0`.
        L: at least :math:`\lambda_{\max}(W^\top W)`.

    Returns:
        ``(z_next, t_next)``.
    """
    W = _check_dictionary(W)
    Y, _ = _check_signals(y, W)
    Z = _check_codes(z, Y.shape[0], W.shape[1], W)
    Zp = _check_codes(z_prev, Y.shape[0], W.shape[1], W, name="z_prev")
    t = check_scalar(t, "t", low=1.0)
    t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
    X = Z + ((t - 1.0) / t_next) * (Z - Zp)
    out = ista_step(W, Y, X, lam, L)
    return (out[0] if torch.as_tensor(z).ndim == 1 else out), t_next
