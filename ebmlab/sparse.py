r"""Sparse coding: a regularised latent-variable energy, and how to minimise it fast.

The energy of a signal :math:`y \in \mathbb R^n` and a code :math:`z \in \mathbb R^k` under a
dictionary :math:`W \in \mathbb R^{n\times k}` (one *atom* per column) is

.. math:: E(y, z) = \tfrac12\,\lVert y - Wz\rVert_2^2 + \lambda\,\lVert z\rVert_1 .

**The** :math:`\tfrac12` **convention.** With the factor :math:`\tfrac12` our :math:`\lambda` is
exactly scikit-learn's ``alpha`` in ``sklearn.decomposition.sparse_encode`` (and SPAMS'
``lambda1``), whose objective per sample is :math:`\tfrac12\lVert x - zD\rVert^2 +
\alpha\lVert z\rVert_1` with :math:`D = W^\top`. The lecture writes :math:`\lVert y -
Wz\rVert^2 + \lambda|z|_1` without the :math:`\tfrac12`; its :math:`\lambda` is twice ours.

Batches are rows: ``y`` is ``(B, n)``, codes are ``(B, k)`` and the reconstruction is
:math:`z W^\top`. The functions are pure and batched; :class:`LISTA` (an ``nn.Module``),
:class:`SparseCoding` and :class:`ConvSparseCoding` (estimators) wrap them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import as_tensor, check_int, check_scalar, check_seed
from .runtime import generator

__all__ = [
    "SparseCode",
    "shrink",
    "sparse_energy",
    "lipschitz",
    "duality_gap",
    "ista_step",
    "fista_step",
    "ista",
    "fista",
    "admm",
    "normalize_atoms",
    "random_dictionary",
    "learn_dictionary",
    "SparseCoding",
    "LISTA",
    "train_lista",
    "code_error",
    "whiten_images",
    "whitened_patches",
    "conv_reconstruct",
    "conv_sparse_code",
    "learn_conv_filters",
    "ConvSparseCoding",
]


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


# --------------------------------------------------------------------------- solvers


def _prepare(W, y, lam, z0, L):
    W = _check_dictionary(W)
    Y, single = _check_signals(y, W)
    lam = check_scalar(lam, "lam", low=0.0)
    L = _check_L(L, W)
    B, k = Y.shape[0], W.shape[1]
    Z = (
        torch.zeros(B, k, dtype=W.dtype, device=W.device)
        if z0 is None
        else _check_codes(z0, B, k, W, name="z0").clone()
    )
    # Everything an iteration needs, computed once: with the Gram matrix G = W^T W an iteration
    # is one (B x k)(k x k) product, z A + c with A = I - G/L and c = W^T y / L.
    G = W.T @ W
    A = torch.eye(k, dtype=W.dtype, device=W.device) - G / L
    b = Y @ W
    return _Problem(Y, single, lam, L, G, A, b, (Y * Y).sum(dim=1)), Z


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


def duality_gap(W: torch.Tensor, y: torch.Tensor, z: torch.Tensor, lam: float) -> torch.Tensor:
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
        W: the dictionary, ``(n, k)``.
        y: signals, ``(B, n)`` or ``(n,)``.
        z: codes, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda > 0`.

    Returns:
        ``(B,)`` gaps (a 0-D tensor for one signal).
    """
    W = _check_dictionary(W)
    Y, single = _check_signals(y, W)
    Z = _check_codes(z, Y.shape[0], W.shape[1], W)
    lam = check_scalar(lam, "lam", low=0.0, low_open=True)
    gap, _ = _gap_and_energy(Z, W.T @ W, Y @ W, (Y * Y).sum(dim=1), lam)
    return gap[0] if single else gap


def _energies(P: _Problem, Z: torch.Tensor) -> torch.Tensor:
    return _gap_and_energy(Z, P.G, P.b, P.yy, P.lam)[1]


def _check_loop_args(steps, tol, check_every):
    steps = check_int(steps, "steps", low=0)
    if tol is not None:
        tol = check_scalar(tol, "tol", low=0.0, low_open=True)
    check_every = check_int(check_every, "check_every", low=1)
    return steps, tol, check_every


def _finish(P: _Problem, Z, done, hist) -> SparseCode:
    return SparseCode(Z[0] if P.single else Z, done, torch.stack(hist) if hist else None)


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


def ista(
    W: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
    tol: float | None = None,
    check_every: int = 10,
    record: bool = False,
) -> SparseCode:
    r"""ISTA: iterative shrinkage-thresholding, batched over many signals.

    .. math:: z_{k+1} = \operatorname{shrink}_{\lambda/L}\!\Big(z_k - \tfrac1L W^\top(Wz_k - y)\Big)

    It is gradient descent on :math:`\tfrac12\lVert y - Wz\rVert^2` followed by the proximal
    step of :math:`\lambda\lVert z\rVert_1`. With :math:`L \ge \lambda_{\max}(W^\top W)` the
    energy never increases and :math:`E(z_k) - E^\star = O(1/k)`.

    Args:
        W: the dictionary, ``(n, k)``; no all-zero column.
        y: signals, ``(B, n)`` or ``(n,)``.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        z0: starting codes (default zeros).
        L: step parameter (default :func:`lipschitz`).
        tol: stop when every signal's :func:`duality_gap` is at most ``tol`` times its energy
            (then the summed energy is within a factor ``tol`` of its minimum); checked every
            ``check_every`` iterations. ``None`` runs all ``steps``.
        check_every: how often ``tol`` is checked.
        record: keep every signal's energy after each iteration (slower).

    Returns:
        A :class:`SparseCode`.
    """
    steps, tol, check_every = _check_loop_args(steps, tol, check_every)
    P, Z = _prepare(W, y, lam, z0, L)
    thr, c = P.lam / P.L, P.b / P.L
    hist = [_energies(P, Z)] if record else None
    done = 0
    for it in range(1, steps + 1):
        Z = shrink(torch.addmm(c, Z, P.A), thr)
        done = it
        if hist is not None:
            hist.append(_energies(P, Z))
        if tol is not None and it % check_every == 0:
            gap, energy = _gap_and_energy(Z, P.G, P.b, P.yy, P.lam)
            if bool((gap <= tol * energy).all()):
                break
    return _finish(P, Z, done, hist)


def fista(
    W: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
    tol: float | None = None,
    check_every: int = 10,
    restart: bool = True,
    record: bool = False,
    positive: bool = False,
) -> SparseCode:
    r"""FISTA (Beck and Teboulle, 2009): ISTA with Nesterov momentum, batched.

    .. math::

        z_{k+1} = \operatorname{shrink}_{\lambda/L}\!\Big(x_k - \tfrac1L W^\top(Wx_k - y)\Big),
        \quad t_{k+1} = \frac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
        x_{k+1} = z_{k+1} + \frac{t_k - 1}{t_{k+1}}(z_{k+1} - z_k),

    with :math:`x_1 = z_0`, :math:`t_1 = 1`. The gradient is taken at the extrapolated point
    :math:`x_k`, and :math:`E(z_k) - E^\star = O(1/k^2)` instead of ISTA's :math:`O(1/k)`; the
    energy is no longer monotone. Each iteration costs one :math:`(B\times k)(k\times k)` product
    with the precomputed :math:`I - W^\top W/L`.

    With ``restart=True`` (O'Donoghue and Candès, 2015) a signal's momentum is reset
    (:math:`t \leftarrow 1`) whenever the step goes against it,
    :math:`\langle x_k - z_{k+1},\, z_{k+1} - z_k\rangle > 0`; this removes the ripples of
    momentum and gives fast linear convergence once the support has settled.

    With ``tol``, each signal stops when its :func:`duality_gap` — a bound on its distance
    to the optimal energy — is at most ``tol`` times its energy. Finished signals leave the
    batch, so later iterations multiply smaller matrices; the summed energy is then certified
    within a factor ``tol`` (up to rounding) of its minimum. Signals whose correlations with
    every atom are at most :math:`\lambda` (:math:`\lVert W^\top y\rVert_\infty \le \lambda`)
    have the optimal code :math:`z = 0`, where the iterates from :math:`z_0 = 0` already stay;
    they are never iterated (the iterates of the others are unchanged).

    Args:
        W: the dictionary, ``(n, k)``; no all-zero column.
        y: signals, ``(B, n)`` or ``(n,)``.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        z0: starting codes (default zeros).
        L: step parameter (default :func:`lipschitz`).
        tol: relative duality gap at which a signal stops, checked every ``check_every``
            iterations; ``None`` runs all ``steps``.
        check_every: how often ``tol`` is checked.
        restart: adaptive (gradient-based) restart of the momentum, per signal.
        record: keep every signal's energy after each iteration (slower; all signals then
            run until all of them meet ``tol``).
        positive: constrain the codes to :math:`z \ge 0` (the shrinkage becomes
            :math:`\max(x - \lambda/L, 0)`, the proximal operator of
            :math:`\lambda\lVert z\rVert_1` plus the indicator of :math:`z \ge 0`).

    Returns:
        A :class:`SparseCode`.
    """
    steps, tol, check_every = _check_loop_args(steps, tol, check_every)
    if not isinstance(restart, bool):
        raise TypeError(f"restart must be a bool; got {type(restart).__name__}")
    if not isinstance(positive, bool):
        raise TypeError(f"positive must be a bool; got {type(positive).__name__}")
    P, Z = _prepare(W, y, lam, z0, L)
    thr, A, b, yy = P.lam / P.L, P.A, P.b, P.yy
    out = Z.clone()  # finished signals are written here
    rows = torch.arange(Z.shape[0], device=Z.device)  # the signals still being iterated
    if z0 is None and not record:
        # Screening: where every correlation |w_j^T y| is at most lam, z = 0 is optimal, and
        # from z = 0 the iterates never move; those signals need no iteration at all.
        corr = b if positive else b.abs()
        rows = (corr.amax(dim=1) > P.lam).nonzero()[:, 0]
        Z, b, yy = Z[rows], b[rows], yy[rows]
        if rows.numel() == 0:
            return _finish(P, out, 0, None)
    c = b / P.L
    t = torch.ones(Z.shape[0], 1, dtype=Z.dtype, device=Z.device)
    X = Z.clone()
    Z_new, D = torch.empty_like(Z), torch.empty_like(Z)  # buffers, reused by every iteration
    hist = [_energies(P, out)] if record else None
    done = 0
    for it in range(1, steps + 1):
        torch.addmm(c, X, A, out=Z_new)  # the only O(k^2) work of an iteration
        if positive:  # one-sided shrink: the prox of lam |z|_1 + [z >= 0]
            Z_new.sub_(thr).clamp_min_(0.0)
        else:  # shrink, in place (D is scratch here)
            Z_new.sub_(torch.clamp(Z_new, -thr, thr, out=D))
        torch.sub(Z_new, Z, out=D)  # the step
        if restart:  # reset where the step z_new - z points against the move x - z_new
            t = torch.where(torch.linalg.vecdot(X.sub_(Z_new), D)[:, None] > 0, 1.0, t)
        t_next = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * t * t))
        torch.addcmul(Z_new, (t - 1.0) / t_next, D, out=X)
        t, done = t_next, it
        Z, Z_new = Z_new, Z  # swap the buffers: no allocation in the loop
        if hist is not None:
            hist.append(_energies(P, Z))
        if tol is not None and it % check_every == 0:
            stop, (rows, Z, b, yy, X, t, c) = _retire(
                P, tol, positive, hist is not None, out, rows, Z, b, yy, X, t, c
            )
            if stop:
                break
            if Z_new.shape != Z.shape:  # signals left: smaller buffers
                Z_new, D = torch.empty_like(Z), torch.empty_like(Z)
    out[rows] = Z
    return _finish(P, out, done, hist)


def admm(
    W: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    rho: float | None = None,
    relax: float = 1.6,
    tol: float | None = None,
    check_every: int = 10,
    record: bool = False,
) -> SparseCode:
    r"""ADMM for the same energy: split the code in two and solve the quadratic part exactly.

    Writing the problem as :math:`\min_{x, z}\ \tfrac12\lVert y - Wx\rVert^2 +
    \lambda\lVert z\rVert_1` subject to :math:`x = z`, the alternating direction method of
    multipliers (scaled form, over-relaxed; Boyd et al., 2011, §6.4) iterates

    .. math::

        x_{k+1} &= (W^\top W + \rho I)^{-1}\big(W^\top y + \rho(z_k - u_k)\big),\\
        \hat x &= \alpha\,x_{k+1} + (1 - \alpha)\,z_k,\\
        z_{k+1} &= \operatorname{shrink}_{\lambda/\rho}(\hat x + u_k),\qquad
        u_{k+1} = u_k + \hat x - z_{k+1}.

    Every signal shares the dictionary, so :math:`(W^\top W + \rho I)^{-1}` is computed once
    and an iteration costs one :math:`(B\times k)(k\times k)` product, as in :func:`fista`.
    The exact solve of the quadratic part is what FISTA lacks: FISTA's steps are limited by
    the largest curvature :math:`L`, and its progress on the flattest directions of the
    support is slow when :math:`W_S^\top W_S` is badly conditioned; ADMM's rate on a support
    :math:`S` depends on :math:`\rho` relative to the eigenvalues of :math:`W_S^\top W_S` (best
    near :math:`\sqrt{\sigma_{\min}\sigma_{\max}}`). The iterate :math:`z` is exactly sparse.

    ``tol``, ``check_every`` and the skipping of signals whose optimal code is 0 work as in
    :func:`fista` (the same :func:`duality_gap` certificate, evaluated at :math:`z`).

    Args:
        W: the dictionary, ``(n, k)``; no all-zero column.
        y: signals, ``(B, n)`` or ``(n,)``.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        rho: the penalty :math:`\rho > 0`. Default ``0.03 * L`` with :math:`L =
            \lambda_{\max}(W^\top W)` (:func:`lipschitz`), between the best values measured
            for 128 random unit-norm atoms on the digits (about 0.05 L) and on whitened
            patches (about 0.02 L); worth tuning for other dictionaries.
        relax: over-relaxation :math:`\alpha \in (0, 2)` (1 is plain ADMM; 1.5–1.8 is
            usually faster).
        tol: relative duality gap at which a signal stops, checked every ``check_every``
            iterations; ``None`` runs all ``steps``.
        check_every: how often ``tol`` is checked.
        record: keep every signal's energy after each iteration (slower; all signals then
            run until all of them meet ``tol``).

    Returns:
        A :class:`SparseCode`.
    """
    steps, tol, check_every = _check_loop_args(steps, tol, check_every)
    relax = check_scalar(relax, "relax", low=0.0, low_open=True, high=2.0)
    if relax == 2.0:  # alpha = 2 no longer converges
        raise ValueError(f"relax must be < 2; got {relax}")
    P, Z = _prepare(W, y, lam, None, None)
    rho = 0.03 * P.L if rho is None else check_scalar(rho, "rho", low=0.0, low_open=True)
    k = P.G.shape[0]
    # the shared inverse, in float64 on the CPU for accuracy (some devices have no float64),
    # then x = c + v M with c = (W^T y) Minv, M = rho Minv and v = z - u
    G64 = P.G.detach().cpu().double()
    Minv = torch.linalg.inv(G64 + rho * torch.eye(k, dtype=torch.float64))
    M = (rho * Minv).to(P.G)
    corr = P.b.abs().amax(dim=1)
    rows = (corr > P.lam).nonzero()[:, 0]  # z = 0 is optimal for the others (see fista)
    out = Z
    b, yy = P.b[rows], P.yy[rows]
    # c in float64 too: rounded in float32 it moves ADMM's fixed point enough that a few
    # signals never certify a 1e-4 gap (measured on whitened patches: 100,000 iterations
    # against 5,310)
    c = (b.detach().cpu().double() @ Minv).to(b)
    Z = Z[rows]
    U = torch.zeros_like(Z)
    thr = P.lam / rho
    hist = [_energies(P, out)] if record else None
    done = 0
    for it in range(1, steps + 1) if rows.numel() else ():
        X = torch.addmm(c, Z - U, M)  # the only O(k^2) work of an iteration
        X.mul_(relax).add_(Z, alpha=1.0 - relax).add_(U)  # x_hat + u
        Z = X - X.clamp(-thr, thr)  # shrink
        U = X.sub_(Z)  # u + x_hat - z_new, in X's buffer
        done = it
        if hist is not None:
            out[rows] = Z
            hist.append(_energies(P, out))
        if tol is not None and it % check_every == 0:
            stop, (rows, Z, b, yy, U, c) = _retire(
                P, tol, False, hist is not None, out, rows, Z, b, yy, U, c
            )
            if stop:
                break
    out[rows] = Z
    return _finish(P, out, done, hist)


# --------------------------------------------------------------------------- dictionaries


def normalize_atoms(W: torch.Tensor) -> torch.Tensor:
    r"""Rescale every column (atom) of ``W`` to unit Euclidean norm, :math:`w_j / \lVert w_j\rVert_2`.

    Without it, dictionary learning cheats: scaling an atom up by :math:`a` and its code down by
    :math:`a` keeps the reconstruction and divides the :math:`L_1` penalty by :math:`a`, so the
    atoms grow without bound and the codes vanish. (The source notes' "normalise by the sum of
    the norms" is not what is done; see ERRATA 5.)

    Args:
        W: ``(n, k)``; no all-zero column.

    Returns:
        A new ``(n, k)`` tensor with unit-norm columns.
    """
    W = _check_dictionary(W)
    return W / W.norm(dim=0, keepdim=True)


def random_dictionary(
    n: int, k: int, seed: int | None = 0, dtype: torch.dtype = torch.float32, device=None
) -> torch.Tensor:
    r"""``k`` random unit-norm atoms in :math:`\mathbb R^n`: Gaussian columns, normalised.

    Args:
        n: dimension of a signal.
        k: number of atoms (``k > n`` gives an overcomplete dictionary).
        seed: seed of the draw.
        dtype: floating dtype.
        device: where the tensor lives.

    Returns:
        ``(n, k)`` with unit-norm columns.
    """
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=1)
    W = torch.randn(n, k, generator=generator(check_seed(seed)), dtype=torch.float64)
    return (W / W.norm(dim=0, keepdim=True)).to(dtype=dtype, device=device)


def learn_dictionary(
    Y: torch.Tensor,
    n_atoms: int,
    lam: float,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    inner_steps: int = 50,
    forget: float = 0.9,
    seed: int | None = 0,
    W0: torch.Tensor | None = None,
    positive_code: bool = False,
    positive_dict: bool = False,
) -> tuple[torch.Tensor, list[float]]:
    r"""Learn a dictionary by alternating minimisation of the summed sparse-coding energy.

    .. math:: \min_{W:\,\lVert w_j\rVert_2 = 1}\ \frac1N\sum_{i}\min_{z_i}
              \tfrac12\lVert y_i - Wz_i\rVert^2 + \lambda\lVert z_i\rVert_1

    For each mini-batch: infer the codes with :func:`fista` (``W`` fixed); then improve ``W``
    with the codes fixed. The quadratic term of all batches seen so far depends on the data
    only through :math:`A = \sum_i z_i z_i^\top` and :math:`B = \sum_i y_i z_i^\top`
    (Mairal et al., 2010), so each atom in turn gets the exact minimiser along it,

    .. math:: w_j \leftarrow w_j + \frac{b_j - W a_j}{A_{jj}},\qquad
              w_j \leftarrow \frac{w_j}{\lVert w_j\rVert_2},

    renormalised to unit norm after its step (ERRATA 5). Old batches are forgotten slowly
    (their statistics are multiplied by ``forget`` at each step). An atom that no signal used
    during an epoch is restarted on a random signal, so no atom stays dead.

    Args:
        Y: training signals, ``(N, n)``.
        n_atoms: number of atoms :math:`k`.
        lam: :math:`\lambda > 0`.
        epochs: passes over the data.
        batch_size: signals per step.
        inner_steps: FISTA iterations per batch.
        forget: in ``[0, 1)``, how much of the previous statistics is kept at each step.
        seed: seed of the initial atoms and of the shuffling.
        W0: starting dictionary ``(n, n_atoms)`` (default: random signals, normalised).
        positive_code: constrain the codes to be non-negative (``fista(..., positive=True)``).
        positive_dict: constrain the atoms to be non-negative: each atom's step is clipped
            at 0 before it is renormalised (the projection onto the non-negative part of the
            unit sphere). With both, the model is a sparse non-negative matrix factorisation,
            whose atoms are parts (strokes) rather than signed prototypes. As in
            scikit-learn's ``DictionaryLearning(positive_code=..., positive_dict=...)``.

    Returns:
        ``(W, energies)``: the ``(n, n_atoms)`` dictionary and the mean energy per signal
        of each epoch (measured on the batches as they were coded).
    """
    Y = as_tensor(Y, "Y", ndim=2)
    N, n = Y.shape
    n_atoms = check_int(n_atoms, "n_atoms", low=1)
    lam = check_scalar(lam, "lam", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    inner_steps = check_int(inner_steps, "inner_steps", low=1)
    forget = check_scalar(forget, "forget", low=0.0, high=0.9999)
    for flag, name in ((positive_code, "positive_code"), (positive_dict, "positive_dict")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool; got {type(flag).__name__}")
    if positive_dict and W0 is None and not bool((Y > 0).any()):
        raise ValueError("positive_dict=True needs signals with some positive entries")
    g = generator(check_seed(seed))
    if W0 is None:
        if bool((Y.norm(dim=1) == 0).all()):
            raise ValueError("Y must contain at least one non-zero signal")
        idx = torch.randint(0, N, (n_atoms,), generator=g)
        W = Y[idx].T.clone() + 1e-3 * torch.randn(n, n_atoms, generator=g).to(Y)
        if positive_dict:
            W = W.clamp_min(0.0)
        W = W / W.norm(dim=0, keepdim=True).clamp_min(1e-12)
    else:
        W = _check_dictionary(W0, "W0")
        if W.shape != (n, n_atoms):
            raise ValueError(f"W0 must have shape ({n}, {n_atoms}); got {tuple(W.shape)}")
        if positive_dict and bool((W < 0).any()):
            raise ValueError("W0 must be non-negative when positive_dict=True")
        W = normalize_atoms(W).to(Y)
    A = torch.zeros(n_atoms, n_atoms, dtype=Y.dtype, device=Y.device)
    B = torch.zeros(n, n_atoms, dtype=Y.dtype, device=Y.device)
    energies: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(N, generator=g).to(Y.device)
        total = 0.0
        used = torch.zeros(n_atoms, dtype=torch.bool, device=Y.device)
        for start in range(0, N, batch_size):
            Yb = Y[order[start : start + batch_size]]
            Z = fista(W, Yb, lam, inner_steps, positive=positive_code).z
            R = Yb - Z @ W.T
            total += float((0.5 * (R * R).sum() + lam * Z.abs().sum()).item())
            used |= (Z != 0).any(dim=0)
            A = forget * A + Z.T @ Z / Yb.shape[0]
            B = forget * B + Yb.T @ Z / Yb.shape[0]
            for j in range(n_atoms):  # block coordinate descent, one atom at a time
                if A[j, j] > 0:
                    u = W[:, j] + (B[:, j] - W @ A[:, j]) / A[j, j]
                    if positive_dict:
                        u = u.clamp_min(0.0)
                    norm = u.norm()
                    if norm > 0:
                        W[:, j] = u / norm
        if not bool(used.all()):
            dead = torch.nonzero(~used)[:, 0]
            pick = torch.randint(0, N, (len(dead),), generator=g).to(Y.device)
            fresh = Y[pick].T.clamp_min(0.0) if positive_dict else Y[pick].T
            W[:, dead] = fresh / fresh.norm(dim=0, keepdim=True).clamp_min(1e-12)
            A[:, dead] = 0
            A[dead, :] = 0
            B[:, dead] = 0
        energies.append(total / N)
    return W, energies


class SparseCoding:
    r"""Sparse coding as an estimator: learn unit-norm atoms, then code signals with FISTA.

    Wraps :func:`learn_dictionary` and :func:`fista`; the energy is
    :math:`\tfrac12\lVert y - Wz\rVert^2 + \lambda\lVert z\rVert_1`.

    Args:
        n_atoms: number of atoms.
        lam: :math:`\lambda > 0` (scikit-learn's ``alpha``).
        epochs: passes over the data in :meth:`fit`.
        batch_size: signals per dictionary step.
        inner_steps: FISTA iterations per batch while learning.
        forget: how much of the previous statistics is kept at each step, in ``[0, 1)``.
        seed: seed of the initialisation and shuffling.

    Attributes:
        dictionary_: the learned ``(n, n_atoms)`` dictionary, one unit-norm atom per column.
        energies_: mean energy per signal after each epoch.
    """

    def __init__(
        self,
        n_atoms: int = 64,
        lam: float = 0.1,
        *,
        epochs: int = 10,
        batch_size: int = 256,
        inner_steps: int = 50,
        forget: float = 0.9,
        seed: int | None = 0,
    ) -> None:
        self.n_atoms = check_int(n_atoms, "n_atoms", low=1)
        self.lam = check_scalar(lam, "lam", low=0.0, low_open=True)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.inner_steps = check_int(inner_steps, "inner_steps", low=1)
        self.forget = check_scalar(forget, "forget", low=0.0, high=0.9999)
        self.seed = check_seed(seed)

    def fit(self, Y: torch.Tensor) -> SparseCoding:
        """Learn the dictionary from signals ``Y`` ``(N, n)``; returns ``self``."""
        self.dictionary_, self.energies_ = learn_dictionary(
            Y,
            self.n_atoms,
            self.lam,
            epochs=self.epochs,
            batch_size=self.batch_size,
            inner_steps=self.inner_steps,
            forget=self.forget,
            seed=self.seed,
        )
        return self

    def transform(self, Y: torch.Tensor, steps: int = 200) -> torch.Tensor:
        """The codes of ``Y`` ``(B, n)`` under the learned dictionary (``steps`` of FISTA)."""
        if not hasattr(self, "dictionary_"):
            raise RuntimeError("call fit before transform")
        return fista(self.dictionary_, Y, self.lam, steps).z


# --------------------------------------------------------------------------- LISTA


def _soft(x: torch.Tensor, theta: torch.Tensor | float) -> torch.Tensor:
    # shrink without the checks, for the forward pass of LISTA (theta may be a parameter)
    if isinstance(theta, torch.Tensor):
        return x - torch.maximum(torch.minimum(x, theta), -theta)
    return x - x.clamp(-theta, theta)


class LISTA(nn.Module):
    r"""Learned ISTA (Gregor and LeCun, 2010): ISTA unrolled for ``layers`` steps, then trained.

    .. math:: z^{(0)} = 0,\qquad z^{(t+1)} = \operatorname{shrink}_\theta\big(W_e^\top y
              + S z^{(t)}\big),\quad t = 0, \dots, T-1 .

    Initialised from a dictionary :math:`W_d` with :math:`W_e = W_d / L`,
    :math:`S = I - W_d^\top W_d / L` and :math:`\theta = \lambda / L`, it computes exactly
    :math:`T` steps of :func:`ista` — note the **plus** sign before :math:`Sz` (ERRATA 4).
    Training (:func:`train_lista`) then adjusts :math:`W_e`, :math:`S` and the per-component
    thresholds :math:`\theta` by back-propagation through the :math:`T` steps, so that a few
    layers predict the codes that FISTA needs many iterations to find. The weights are shared
    by all steps: it is a recurrent network unrolled in time.

    Args:
        W: the decoder dictionary :math:`W_d`, ``(n, k)``; no all-zero column.
        lam: :math:`\lambda \ge 0`.
        layers: :math:`T \ge 1`.
        L: step parameter (default :func:`lipschitz` of ``W``).
    """

    def __init__(self, W: torch.Tensor, lam: float, layers: int = 16, L: float | None = None):
        super().__init__()
        W = _check_dictionary(W)
        lam = check_scalar(lam, "lam", low=0.0)
        self.layers = check_int(layers, "layers", low=1)
        L = _check_L(L, W)
        k = W.shape[1]
        self.We = nn.Parameter(W.detach().clone() / L)
        self.S = nn.Parameter(torch.eye(k, dtype=W.dtype, device=W.device) - W.T @ W / L)
        self.theta = nn.Parameter(torch.full((k,), lam / L, dtype=W.dtype, device=W.device))

    def forward(self, y: torch.Tensor, layers: int | None = None) -> torch.Tensor:
        """Codes ``(B, k)`` of signals ``y`` ``(B, n)`` (``layers`` overrides :math:`T`)."""
        T = self.layers if layers is None else check_int(layers, "layers", low=1)
        Y, single = _check_signals(y, self.We.detach())
        c = Y @ self.We  # rows W_e^T y
        z = _soft(c, self.theta)  # the first step, from z = 0
        for _ in range(T - 1):
            z = _soft(torch.addmm(c, z, self.S), self.theta)
        return z[0] if single else z


def code_error(z: torch.Tensor, z_star: torch.Tensor) -> float:
    r"""Relative squared error of codes, :math:`\sum_i\lVert z_i - z_i^\star\rVert^2 /
    \sum_i\lVert z_i^\star\rVert^2`.

    Args:
        z: predicted codes, ``(B, k)``.
        z_star: optimal codes, same shape.

    Returns:
        The error as a float.
    """
    z = as_tensor(z, "z", min_ndim=1)
    z_star = as_tensor(z_star, "z_star", min_ndim=1)
    if z.shape != z_star.shape:
        raise ValueError(
            f"z and z_star must have one shape; got {tuple(z.shape)} and {tuple(z_star.shape)}"
        )
    den = float((z_star.double() ** 2).sum())
    if den == 0:
        raise ValueError("z_star must not be all zeros (the error is relative to its norm)")
    return float(((z.double() - z_star.double()) ** 2).sum()) / den


def train_lista(
    model: LISTA,
    Y: torch.Tensor,
    Z_star: torch.Tensor,
    *,
    epochs: int = 50,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int | None = 0,
    schedule: str = "constant",
) -> list[float]:
    r"""Train a :class:`LISTA` to predict optimal codes, by back-propagation through time.

    .. math:: \min_{W_e, S, \theta}\ \frac1B\sum_i \big\lVert \mathrm{LISTA}(y_i) - z^\star_i
              \big\rVert^2

    with Adam; :math:`z^\star` are codes from a long :func:`fista` run. Deep unrolled networks
    train slowly at a fixed rate: ``schedule="cosine"`` lowers the learning rate from ``lr`` to
    0 along a half cosine over all the steps, which for a long run usually ends at a lower error
    (``python -m ebmlab.bench_sparse`` trains this way).

    Args:
        model: the network (trained in place).
        Y: training signals, ``(N, n)``.
        Z_star: their optimal codes, ``(N, k)``.
        epochs: passes over the data.
        batch_size: signals per step.
        lr: Adam's learning rate.
        seed: seed of the shuffling.
        schedule: ``"constant"`` or ``"cosine"`` (the learning rate decays to 0 over the run).

    Returns:
        The mean training loss of each epoch.
    """
    if not isinstance(schedule, str):
        raise TypeError(
            f"schedule must be a str ('constant' or 'cosine'); got {type(schedule).__name__}"
        )
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine'; got {schedule!r}")
    if not isinstance(model, LISTA):
        raise TypeError(f"model must be a LISTA; got {type(model).__name__}")
    Y, _ = _check_signals(Y, model.We.detach(), name="Y")
    Z_star = as_tensor(Z_star, "Z_star", ndim=2)
    if Z_star.shape != (Y.shape[0], model.S.shape[0]):
        raise ValueError(
            f"Z_star must have shape ({Y.shape[0]}, {model.S.shape[0]}); got {tuple(Z_star.shape)}"
        )
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_steps = epochs * -(-Y.shape[0] // batch_size)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_steps) if schedule == "cosine" else None
    )
    Z_star = Z_star.to(Y)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(Y.shape[0], generator=g).to(Y.device)
        total = 0.0
        for start in range(0, Y.shape[0], batch_size):
            idx = order[start : start + batch_size]
            loss = ((model(Y[idx]) - Z_star[idx]) ** 2).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / Y.shape[0])
    return losses


# --------------------------------------------------------------------------- convolutional


def whiten_images(images: torch.Tensor, cutoff: float = 0.4) -> torch.Tensor:
    r"""Flatten the power spectrum of natural images (Olshausen and Field's filter).

    Natural images have a power spectrum close to :math:`1/|f|^2`; multiplying the Fourier
    transform by

    .. math:: R(f) = |f|\, e^{-(|f| / f_0)^4}

    makes it roughly flat (the ramp :math:`|f|`) while cutting the noisy highest frequencies
    (:math:`f_0` = ``cutoff`` times the Nyquist frequency). Each image is then scaled to unit
    standard deviation.

    Args:
        images: ``(N, H, W)``.
        cutoff: :math:`f_0 / f_\text{Nyquist}` in ``(0, 1]``.

    Returns:
        ``(N, H, W)`` whitened images.
    """
    X = as_tensor(images, "images", ndim=3)
    cutoff = check_scalar(cutoff, "cutoff", low=0.0, low_open=True, high=1.0)
    _, H, W = X.shape
    fy = torch.fft.fftfreq(H, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(W, dtype=torch.float64)[None, :]
    f = torch.sqrt(fx**2 + fy**2) / 0.5  # in units of the Nyquist frequency
    R = (f * torch.exp(-((f / cutoff) ** 4))).to(X.device)
    Xw = torch.fft.ifft2(torch.fft.fft2(X.double()) * R).real
    Xw = Xw / Xw.std(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    return Xw.to(X.dtype)


def whitened_patches(
    n: int = 10_000, size: int = 8, downsample: int = 2, cutoff: float = 0.8, seed: int | None = 0
) -> torch.Tensor:
    r"""Patches of the bundled photographs after :func:`whiten_images`, for dictionary learning.

    The photographs (:func:`ebmlab.data.natural_images`) are first averaged over
    ``downsample`` × ``downsample`` blocks — this removes the JPEG compression's 8 × 8 block
    artefacts, which whitening would otherwise amplify into the atoms — then whitened with the
    filter :math:`|f|e^{-(|f|/f_0)^4}`; random ``size`` × ``size`` patches have their mean removed.

    Args:
        n: number of patches.
        size: side of a patch.
        downsample: block size of the averaging (1 keeps full resolution).
        cutoff: :math:`f_0` as a fraction of the Nyquist frequency.
        seed: seed of the patch positions.

    Returns:
        ``(n, size * size)`` float32.
    """
    from .data import natural_images

    n = check_int(n, "n", low=1)
    size = check_int(size, "size", low=2, high=64)
    downsample = check_int(downsample, "downsample", low=1, high=8)
    imgs = natural_images()
    if downsample > 1:
        imgs = F.avg_pool2d(imgs[:, None], downsample)[:, 0]
    imgs = whiten_images(imgs, cutoff=cutoff)
    g = generator(check_seed(seed))
    _, H, W = imgs.shape
    which = torch.randint(0, imgs.shape[0], (n,), generator=g)
    rows = torch.randint(0, H - size + 1, (n,), generator=g)
    cols = torch.randint(0, W - size + 1, (n,), generator=g)
    ar = torch.arange(size)
    P = imgs[
        which[:, None, None], (rows[:, None] + ar)[:, :, None], (cols[:, None] + ar)[:, None, :]
    ].reshape(n, size * size)
    return P - P.mean(dim=1, keepdim=True)


def _check_filters(K, name: str = "K") -> torch.Tensor:
    K = as_tensor(K, name, ndim=3)
    if K.shape[1] != K.shape[2] or K.shape[1] % 2 == 0:
        raise ValueError(f"{name} must be (m, s, s) with an odd size s; got {tuple(K.shape)}")
    if bool((K.flatten(1).norm(dim=1) == 0).any()):
        raise ValueError(f"{name} has an all-zero filter; every filter needs a non-zero norm")
    return K


def conv_reconstruct(Z: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    r"""The convolutional decoder: :math:`\hat Y = \sum_i K_i * Z_i`.

    Each feature map :math:`Z_i` is convolved with its kernel :math:`K_i` (zero padding, the
    output has the size of the maps) and the results are summed — a dictionary whose atoms are
    the kernels at every position.

    Args:
        Z: feature maps, ``(N, m, H, W)``.
        K: kernels, ``(m, s, s)`` with ``s`` odd.

    Returns:
        ``(N, H, W)`` reconstructions.
    """
    K = _check_filters(K)
    Z = as_tensor(Z, "Z", ndim=4)
    if Z.shape[1] != K.shape[0]:
        raise ValueError(f"Z must have {K.shape[0]} maps (one per kernel); got {Z.shape[1]}")
    return F.conv_transpose2d(Z, K[:, None].to(Z), padding=K.shape[1] // 2)[:, 0]


def _conv_lipschitz(K: torch.Tensor) -> float:
    # ||sum_i K_i * Z_i||^2 <= max_f sum_i |K_i^(f)|^2 ||Z||^2: the largest frequency response,
    # sampled finely (8x oversampled) with a small margin for the samples between
    s = K.shape[1]
    spec = torch.fft.fft2(K.double(), s=(8 * s, 8 * s)).abs() ** 2
    return 1.02 * float(spec.sum(dim=0).max())


def conv_sparse_code(
    K: torch.Tensor,
    Y: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
) -> torch.Tensor:
    r"""Convolutional sparse codes by FISTA with restart.

    .. math:: \min_Z\ \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \lambda\sum_i\lVert Z_i\rVert_1

    The gradient of the quadratic term is the correlation of the residual with each kernel
    (the adjoint of :func:`conv_reconstruct`); :math:`L` is bounded by the largest
    :math:`\sum_i|\hat K_i(f)|^2` over frequencies.

    Args:
        K: kernels, ``(m, s, s)``, ``s`` odd.
        Y: images, ``(N, H, W)``.
        lam: :math:`\lambda \ge 0`.
        steps: FISTA iterations.
        z0: starting maps ``(N, m, H, W)`` (default zeros): pass the previous codes to warm-start.
        L: step parameter (default: the frequency bound).

    Returns:
        The maps ``Z``, ``(N, m, H, W)``.
    """
    K = _check_filters(K)
    Y = as_tensor(Y, "Y", ndim=3)
    lam = check_scalar(lam, "lam", low=0.0)
    steps = check_int(steps, "steps", low=0)
    L = _conv_lipschitz(K) if L is None else check_scalar(L, "L", low=0.0, low_open=True)
    m, s = K.shape[0], K.shape[1]
    shape = (Y.shape[0], m, Y.shape[1], Y.shape[2])
    Z = torch.zeros(shape, dtype=Y.dtype, device=Y.device) if z0 is None else z0
    if z0 is not None:
        Z = as_tensor(z0, "z0", ndim=4).to(Y)
        if tuple(Z.shape) != shape:
            raise ValueError(f"z0 must have shape {shape}; got {tuple(Z.shape)}")
    Kc = K[:, None].to(Y)
    thr = lam / L
    X, t = Z.clone(), 1.0
    for _ in range(steps):
        R = F.conv_transpose2d(X, Kc, padding=s // 2) - Y[:, None]
        Z_new = X - F.conv2d(R, Kc, padding=s // 2) / L
        Z_new = Z_new - Z_new.clamp(-thr, thr)
        D = Z_new - Z
        if float(((X - Z_new) * D).sum()) > 0:  # restart the momentum
            t = 1.0
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        X = Z_new + ((t - 1.0) / t_next) * D
        Z, t = Z_new, t_next
    return Z


def _conv_energy(K: torch.Tensor, Z: torch.Tensor, Y: torch.Tensor, lam: float) -> float:
    # the energy of conv_sparse_code, summed over the images, accumulated in float64
    R = (Y - conv_reconstruct(Z, K)).double()
    return 0.5 * float((R * R).sum()) + lam * float(Z.double().abs().sum())


def _work_dtype(t: torch.Tensor) -> torch.dtype:
    # the kernel step is solved in float64, except where the device has none (Apple's MPS)
    return torch.float32 if t.device.type == "mps" else torch.float64


def _fft_length(n: int) -> int:
    # the smallest length >= n with no prime factor above 5: FFTs of such lengths are fast
    while True:
        k = n
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return n
        n += 1


def _cross_spectra(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    # sum_n conj(A[n, a, f]) B[n, b, f] for every frequency f, as (F, a, b). Written as one real
    # batched product: conj(A) B = (Ar Br + Ai Bi) + i (Ar Bi - Ai Br)
    a = torch.cat([A.real, A.imag]).permute(2, 1, 0).contiguous()  # (F, a, 2N)
    b = torch.cat([torch.cat([B.real, B.imag]), torch.cat([B.imag, -B.real])], dim=1)
    out = torch.bmm(a, b.permute(2, 0, 1).contiguous())  # (F, a, 2b)
    nb = B.shape[1]
    return torch.complex(out[..., :nb], out[..., nb:])


def _frame_taps(size: int, dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    # The p = size // 2 output rows just above the image (and just below) are cut by the crop.
    # Only taps near the kernel's edge reach into the image from there: from the frame row
    # t - p above the image, tap u < p reads image row t - u; from the row H + t below it, tap
    # p + 1 + w reads row H - p + (t + p - 1 - w). S[(u, u'), (x, x')] counts the frame rows where
    # taps u and u' read the strip rows x and x' (local indices 0..p-1 of the top or bottom strip).
    p = size // 2
    t = torch.arange(p, device=device)
    w = torch.arange(p, device=device)
    strip = torch.arange(p, device=device)

    def counts(read: torch.Tensor) -> torch.Tensor:
        hit = (read[:, :, None] == strip).to(dtype)  # (tap, frame row, strip row)
        return torch.einsum("atx,bty->abxy", hit, hit).reshape(p * p, p * p)

    top = counts(t[None, :] - w[:, None])
    bottom = counts(t[None, :] + p - 1 - w[:, None])
    return top, bottom


def _conv_normal_equations(
    Z: torch.Tensor, Y: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The codes-fixed energy as a quadratic in the kernels: :math:`\tfrac12 k^\top G k - b^\top k`.

    ``k`` stacks the taps of the kernels, index ``(i, u, v)``. With :math:`c = ` ``size // 2``
    and :math:`r` running over the pixels of the images (the crop of ``conv_reconstruct``),

    .. math:: G_{iuv,\,ju'v'} = \sum_{n,r} Z_{ni}[r_1 + c - u,\, r_2 + c - v]\,
              Z_{nj}[r_1 + c - u',\, r_2 + c - v'],\qquad
              b_{iuv} = \sum_{n,r} Y_n[r]\, Z_{ni}[r_1 + c - u,\, r_2 + c - v].

    Summed over the whole plane, :math:`G` would depend on the lag :math:`(u - u', v - v')`
    only: it is the correlation of the maps at lags up to ``size - 1``, one FFT per map. The
    crop removes the output rows and columns within ``c`` of the image; their terms involve
    only the ``c`` rows (or columns) along each edge and are subtracted (and the corners, which
    both remove, added back). ``G`` is ``(m size², m size²)``; no design matrix is built.
    """
    N, m, H, W = Z.shape
    p, s, dev = size // 2, size, Z.device
    q = 2 * p  # the largest lag between two taps
    nl = 2 * q + 1
    lag = torch.arange(-q, q + 1, device=dev)
    h2, w2 = _fft_length(H + q), _fft_length(W + q)  # no wrap-around at lags up to q
    Zf = torch.fft.rfft2(Z, s=(h2, w2))
    spec = _cross_spectra(Zf.reshape(N, m, -1), Zf.reshape(N, m, -1))  # (F, m, m)
    C = torch.fft.irfft2(spec.permute(1, 2, 0).reshape(m, m, h2, -1), s=(h2, w2))
    C = C[:, :, lag % h2][:, :, :, lag % w2]  # C[i, j, d] = sum_n,x Z_ni[x] Z_nj[x + d]
    Yf = torch.fft.rfft2(Y, s=(h2, w2))
    B = torch.fft.irfft2((Zf * Yf.conj()[:, None]).sum(0), s=(h2, w2))
    u = torch.arange(s, device=dev)
    b = B[:, (p - u) % h2][:, :, (p - u) % w2].reshape(-1)
    d = u[:, None] - u[None, :] + q  # lag index of the tap pair (u, u')
    # G[i, u, v, j, u', v'] = C[i, j, d[u, u'], d[v, v']]: windows of C, read backwards in u', v'
    G = C.unfold(2, s, 1).unfold(3, s, 1).permute(0, 2, 3, 1, 4, 5).flip(4, 5).contiguous()
    if p == 0:
        return G.reshape(m, m), b
    S_top, S_bottom = _frame_taps(s, Z.dtype, dev)
    near = (slice(0, p), slice(p + 1, s))  # the taps that reach the top / bottom strip

    def strip_correlations(strip: torch.Tensor, n: int) -> torch.Tensor:
        # (N, m, p, L): the correlations along L of every pair of strip rows, (m, m, p*p, nl)
        f = torch.fft.rfft(strip, n=n, dim=-1).reshape(N, m * p, -1)
        c = torch.fft.irfft(_cross_spectra(f, f), n=n, dim=0)[lag % n]
        return c.reshape(nl, m, p, m, p).permute(1, 3, 2, 4, 0).reshape(m, m, p * p, nl)

    Zt = Z.transpose(2, 3)
    for k, S in enumerate((S_top, S_bottom)):
        edge = slice(0, p) if k == 0 else slice(H - p, H)
        R = (S @ strip_correlations(Z[:, :, edge], w2)).reshape(m, m, p, p, nl)[..., d]
        G[:, near[k], :, :, near[k], :] -= R.permute(0, 2, 4, 1, 3, 5)
        edge = slice(0, p) if k == 0 else slice(W - p, W)
        R = (S @ strip_correlations(Zt[:, :, edge], h2)).reshape(m, m, p, p, nl)[..., d]
        G[:, :, near[k], :, :, near[k]] -= R.permute(0, 4, 2, 1, 5, 3)
    for k, Sr in enumerate((S_top, S_bottom)):
        rows = slice(0, p) if k == 0 else slice(H - p, H)
        for k2, Sc in enumerate((S_top, S_bottom)):
            cols = slice(0, p) if k2 == 0 else slice(W - p, W)
            blk = Z[:, :, rows, cols].reshape(N, m * p, p)  # (n, (i, x1), x2)
            T = torch.einsum("nax,nby->abxy", blk, blk).reshape(m, p, m, p, p, p)
            T = T.permute(0, 2, 1, 3, 4, 5).reshape(m, m, p * p, p * p)
            Q = (Sr @ T @ Sc.T).reshape(m, m, p, p, p, p)  # (i, j, u, u', v, v')
            G[:, near[k], near[k2], :, near[k], near[k2]] += Q.permute(0, 2, 4, 1, 3, 5)
    return G.reshape(m * s * s, m * s * s), b


def _conv_filter_step(
    K: torch.Tensor, Z: torch.Tensor, Y: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The kernel half-step of ``method="exact"``: returns the new kernels and codes, and
    ``0.5 * ||Y - sum_i K_i * Z_i||**2`` after it (see :func:`learn_conv_filters`)."""
    m, s = K.shape[0], K.shape[1]
    dt = _work_dtype(Z)
    G, b = _conv_normal_equations(Z.to(dt), Y.to(dt), s)
    half_yy = 0.5 * float((Y.to(dt) ** 2).sum())
    k0 = K.to(dt).reshape(-1)

    def objective(k: torch.Tensor) -> float:  # 0.5 ||Y - recon||^2 - 0.5 ||Y||^2
        return 0.5 * float(k @ (G @ k)) - float(b @ k)

    # the step 1/L needs L >= the largest eigenvalue of G: power iteration, with a margin. Were
    # L still too small, the final check below keeps the old kernels: the energy cannot rise.
    v = torch.randn(b.shape[0], generator=generator(0), dtype=torch.float64).to(b)
    for _ in range(20):
        v = G @ v
        v = v / v.norm().clamp_min(1e-30)
    L = 1.1 * float(v @ (G @ v))
    if not L > 0:  # every map is zero: the kernels do not matter
        return K, Z, half_yy
    k, x, t = k0, k0, 1.0
    for _ in range(steps):
        k_new = (x - (G @ x - b) / L).view(m, -1)
        k_new = (k_new / k_new.norm(dim=1, keepdim=True).clamp_min(1.0)).reshape(-1)  # on the balls
        if float((x - k_new) @ (k_new - k)) > 0:  # restart the momentum
            t = 1.0
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        x = k_new + ((t - 1.0) / t_next) * (k_new - k)
        k, t = k_new, t_next
    if objective(k) > objective(k0):
        k = k0
    err = objective(k) + half_yy
    # back to unit norm: K_i / a_i with Z_i * a_i reconstructs the same and, as a_i <= 1, lowers
    # the L1 term. A kernel that came out zero keeps its old shape and loses its (useless) map.
    a = k.view(m, -1).norm(dim=1)
    dead = a <= 1e-12
    Knew = torch.where(dead[:, None], k0.view(m, -1), k.view(m, -1) / a.clamp_min(1e-12)[:, None])
    scale = torch.where(dead, torch.zeros_like(a), a)
    return Knew.view(m, s, s).to(K), Z * scale.to(Z)[None, :, None, None], err


def _check_conv_options(method, envelope, filter_steps) -> tuple[str, float | None, int]:
    if not isinstance(method, str):
        raise TypeError(f"method must be a str ('adam' or 'exact'); got {type(method).__name__}")
    if method not in ("adam", "exact"):
        raise ValueError(f"method must be 'adam' or 'exact'; got {method!r}")
    if envelope is not None:
        envelope = check_scalar(envelope, "envelope", low=0.0, low_open=True)
    return method, envelope, check_int(filter_steps, "filter_steps", low=1)


def learn_conv_filters(
    images: torch.Tensor,
    n_filters: int,
    size: int = 9,
    lam: float = 0.1,
    *,
    steps: int = 100,
    inner_steps: int = 5,
    lr: float = 0.02,
    seed: int | None = 0,
    method: str = "adam",
    envelope: float | None = None,
    filter_steps: int = 30,
) -> tuple[torch.Tensor, list[float]]:
    r"""Learn unit-norm convolution kernels by alternating minimisation.

    .. math:: \min_{K:\,\lVert K_i\rVert = 1}\ \min_Z\ \frac1N\Big(\tfrac12\Big\lVert Y -
              \sum_i K_i * Z_i\Big\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1\Big)

    The whole (small) batch of images is kept, and so are its codes: each step warm-starts
    :func:`conv_sparse_code` from the previous maps for ``inner_steps`` iterations, then
    updates the kernels.

    ``method="adam"`` takes one Adam step on the kernels and renormalises them.

    ``method="exact"`` minimises over the kernels with the codes fixed. The energy is then a
    quadratic in the stacked taps :math:`k` of all kernels (tap :math:`(i, u)`: kernel
    :math:`i`, position :math:`u`; :math:`r` runs over the pixels, :math:`c` is the centre tap),

    .. math:: \tfrac12 k^\top G k - b^\top k + \tfrac12\lVert Y\rVert^2,\qquad
              G_{iu,\,ju'} = \sum_{n,r} Z_{ni}[r + c - u]\,Z_{nj}[r + c - u'],\qquad
              b_{iu} = \sum_{n,r} Y_n[r]\,Z_{ni}[r + c - u] .

    :math:`G` holds the correlations of the maps with each other at lags below ``size``,
    :math:`b` those of the maps with the images; both come from FFTs (less the few terms that
    the image border cuts off), so a step costs little more than a few convolutions. The
    quadratic is minimised over the balls :math:`\lVert K_i\rVert \le 1` by projected FISTA
    (``filter_steps`` iterations, from the current kernels); then each kernel is scaled to
    unit norm, :math:`K_i / a_i` with :math:`a_i = \lVert K_i\rVert \le 1`, and its map by
    :math:`a_i`: the reconstruction is unchanged and the :math:`L_1` term can only shrink. New
    codes are kept only when they lower the energy, so with ``"exact"`` the recorded energies
    never increase.

    Args:
        images: ``(N, H, W)``, e.g. from :func:`whiten_images`.
        n_filters: number of kernels :math:`m`.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations.
        inner_steps: FISTA iterations on the codes per alternation.
        lr: Adam's learning rate on the kernels (``method="adam"`` only).
        seed: seed of the initial kernels.
        method: ``"adam"`` or ``"exact"`` (images at least ``size`` × ``size``).
        envelope: if given, the initial random kernels are multiplied by a Gaussian of this
            standard deviation (in pixels) centred on the kernel: they start as small centred
            spots. ``None`` keeps plain white noise.
        filter_steps: projected FISTA iterations per kernel step (``method="exact"`` only).

    Returns:
        ``(K, energies)``: the ``(m, size, size)`` kernels and the energy per image after each
        step.
    """
    Y = as_tensor(images, "images", ndim=3)
    m = check_int(n_filters, "n_filters", low=1)
    size = check_int(size, "size", low=1)
    if size % 2 == 0:
        raise ValueError(f"size must be odd; got {size}")
    lam = check_scalar(lam, "lam", low=0.0, low_open=True)
    steps = check_int(steps, "steps", low=1)
    inner_steps = check_int(inner_steps, "inner_steps", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    method, envelope, filter_steps = _check_conv_options(method, envelope, filter_steps)
    N, H, W = Y.shape
    if method == "exact" and min(H, W) < size:
        raise ValueError(
            f"images must be at least size x size ({size} x {size}) for method='exact'; "
            f"got {H} x {W}"
        )
    g = generator(check_seed(seed))
    K = torch.randn(m, size, size, generator=g, dtype=torch.float64)
    if envelope is not None:
        r = torch.arange(size, dtype=torch.float64) - size // 2
        K = K * torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * envelope**2))
    K = K.to(Y)
    K = K / K.flatten(1).norm(dim=1)[:, None, None]
    energies = []
    if method == "exact":
        Z = torch.zeros(N, m, H, W, dtype=Y.dtype, device=Y.device)
        energy = _conv_energy(K, Z, Y, lam)
        for _ in range(steps):
            Z_new = conv_sparse_code(K, Y, lam, inner_steps, z0=Z)
            e_new = _conv_energy(K, Z_new, Y, lam)
            if e_new <= energy:  # a few FISTA steps need not descend: keep the better codes
                Z = Z_new
            K, Z, _ = _conv_filter_step(K, Z, Y, filter_steps)
            energy = _conv_energy(K, Z, Y, lam)
            energies.append(energy / N)
        return K, energies
    K.requires_grad_(True)
    opt = torch.optim.Adam([K], lr=lr)
    Z = None
    for _ in range(steps):
        Z = conv_sparse_code(K.detach(), Y, lam, inner_steps, z0=Z)
        R = Y - F.conv_transpose2d(Z, K[:, None], padding=size // 2)[:, 0]
        loss = 0.5 * (R * R).sum() / N
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            K /= K.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
        energies.append(float(loss.detach()) + lam * float(Z.abs().sum()) / N)
    return K.detach(), energies


class ConvSparseCoding:
    r"""Convolutional sparse coding as an estimator: :math:`Y \approx \sum_i K_i * Z_i`.

    Wraps :func:`learn_conv_filters` and :func:`conv_sparse_code`.

    Args:
        n_filters: number of kernels.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations in :meth:`fit`.
        inner_steps: FISTA iterations per alternation.
        lr: Adam's learning rate on the kernels (``method="adam"``).
        seed: seed of the initial kernels.
        method: ``"adam"`` (one Adam step on the kernels per alternation) or ``"exact"`` (the
            kernels minimised with the codes fixed); see :func:`learn_conv_filters`.
        envelope: standard deviation, in pixels, of a Gaussian window on the initial random
            kernels (``None``: no window).
        filter_steps: projected FISTA iterations per kernel step (``method="exact"``).

    Attributes:
        filters_: the learned ``(n_filters, size, size)`` unit-norm kernels.
        energies_: energy per image after each alternation.
    """

    def __init__(
        self,
        n_filters: int = 8,
        size: int = 9,
        lam: float = 0.1,
        *,
        steps: int = 100,
        inner_steps: int = 5,
        lr: float = 0.02,
        seed: int | None = 0,
        method: str = "adam",
        envelope: float | None = None,
        filter_steps: int = 30,
    ) -> None:
        self.n_filters = check_int(n_filters, "n_filters", low=1)
        self.size = check_int(size, "size", low=1)
        if self.size % 2 == 0:
            raise ValueError(f"size must be odd; got {size}")
        self.lam = check_scalar(lam, "lam", low=0.0, low_open=True)
        self.steps = check_int(steps, "steps", low=1)
        self.inner_steps = check_int(inner_steps, "inner_steps", low=1)
        self.lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        self.seed = check_seed(seed)
        self.method, self.envelope, self.filter_steps = _check_conv_options(
            method, envelope, filter_steps
        )

    def fit(self, images: torch.Tensor) -> ConvSparseCoding:
        """Learn the kernels from images ``(N, H, W)``; returns ``self``."""
        self.filters_, self.energies_ = learn_conv_filters(
            images,
            self.n_filters,
            self.size,
            self.lam,
            steps=self.steps,
            inner_steps=self.inner_steps,
            lr=self.lr,
            seed=self.seed,
            method=self.method,
            envelope=self.envelope,
            filter_steps=self.filter_steps,
        )
        return self

    def transform(self, images: torch.Tensor, steps: int = 100) -> torch.Tensor:
        """Feature maps ``(N, m, H, W)`` of ``images`` under the learned kernels."""
        if not hasattr(self, "filters_"):
            raise RuntimeError("call fit before transform")
        return conv_sparse_code(self.filters_, images, self.lam, steps)
