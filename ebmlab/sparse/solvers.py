r"""The solvers, batched over many signals: ISTA, FISTA (with restart) and ADMM.

Each iteration is one :math:`(B\times k)(k\times k)` product with a matrix computed once; with
``SolverConfig(tol=...)``, each signal stops when its duality gap (``gap.py``) is small enough.
These are the fast paths; ``reference.py`` has ISTA and FISTA as the formulas read.
"""

from __future__ import annotations

import torch

from .. import optim
from .._validation import Boolean, Instance, Int, Real, checked
from .config import SolverConfig
from .gap import _energies, _finish, _gap_and_energy, _prepare, _Problem, _retire
from .prox import SparseCode

__all__ = ["ista", "fista", "admm"]


_SOLVER = {
    "lam": Real(low=0.0),
    "steps": Int(low=0),
    "config": Instance(SolverConfig, default=True),
}


@checked(**_SOLVER)
def ista(
    Y: torch.Tensor,
    W: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
    config: SolverConfig | None = None,
) -> SparseCode:
    r"""ISTA: iterative shrinkage-thresholding, batched over many signals.

    .. math:: z_{k+1} = \operatorname{shrink}_{\lambda/L}\!\Big(z_k - \tfrac1L W^\top(Wz_k - y)\Big)

    It is gradient descent on :math:`\tfrac12\lVert y - Wz\rVert^2` followed by the proximal
    step of :math:`\lambda\lVert z\rVert_1`. With :math:`L \ge \lambda_{\max}(W^\top W)` the
    energy never increases and :math:`E(z_k) - E^\star = O(1/k)`. Each iteration is one
    product with the precomputed :math:`I - W^\top W/L`; ``ebmlab.sparse.reference.ista`` is
    the same iteration as the formula reads, and gives the same iterates (tested).

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``; no all-zero column.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        z0: starting codes (default zeros).
        L: step parameter (default :func:`lipschitz`).
        config: a :class:`SolverConfig`: ``tol`` stops when every signal's :func:`duality_gap`
            is at most ``tol`` times its energy (then the summed energy is within a factor
            ``tol`` of its minimum), checked every ``check_every`` iterations; ``record``
            keeps the energy after each iteration (``restart`` does not apply).

    Returns:
        A :class:`SparseCode`.
    """
    P, Z = _prepare(Y, W, lam, z0, L)
    tol, check_every = config.tol, config.check_every
    thr, c = P.lam / P.L, P.b / P.L
    hist = [_energies(P, Z)] if config.record else None
    done = 0
    for it in range(1, steps + 1):
        Z = optim.shrink(torch.addmm(c, Z, P.A), thr)
        done = it
        if hist is not None:
            hist.append(_energies(P, Z))
        if tol is not None and it % check_every == 0:
            gap, energy = _gap_and_energy(Z, P.G, P.b, P.yy, P.lam)
            if bool((gap <= tol * energy).all()):
                break
    return _finish(P, Z, done, hist)


@checked(positive=Boolean(), **_SOLVER)
def fista(
    Y: torch.Tensor,
    W: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
    positive: bool = False,
    config: SolverConfig | None = None,
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

    ``ebmlab.sparse.reference.fista`` is the same algorithm written as the formulas read
    (no Gram matrix, no screening, no retirement); the two give the same iterates (tested).

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``; no all-zero column.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        z0: starting codes (default zeros).
        L: step parameter (default :func:`lipschitz`).
        positive: constrain the codes to :math:`z \ge 0` (the shrinkage becomes
            :math:`\max(x - \lambda/L, 0)`, the proximal operator of
            :math:`\lambda\lVert z\rVert_1` plus the indicator of :math:`z \ge 0`).
        config: a :class:`SolverConfig`: ``tol``, the relative duality gap at which a signal
            stops, checked every ``check_every`` iterations (``None`` runs all ``steps``);
            ``restart``, the adaptive restart of the momentum, per signal; ``record``, the
            energy after each iteration (slower; all signals then run until all of them meet
            ``tol``).

    Returns:
        A :class:`SparseCode`.
    """
    P, Z = _prepare(Y, W, lam, z0, L)
    return _fista(P, Z, steps, positive, config, screen=z0 is None)


def _fista(
    P: _Problem, Z: torch.Tensor, steps: int, positive: bool, config: SolverConfig, screen: bool
) -> SparseCode:
    """The fast path of :func:`fista`, from a checked problem and start; ``screen`` (a start
    at z = 0) lets the signals whose optimal code is 0 skip the iterations."""
    tol, check_every, restart = config.tol, config.check_every, config.restart
    thr, A, b, yy = P.lam / P.L, P.A, P.b, P.yy
    out = Z.clone()  # finished signals are written here
    rows = torch.arange(Z.shape[0], device=Z.device)  # the signals still being iterated
    if screen and not config.record:
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
    hist = [_energies(P, out)] if config.record else None
    done = 0
    for it in range(1, steps + 1):
        torch.addmm(c, X, A, out=Z_new)  # the only O(k^2) work of an iteration
        # The shrink is written in place here, into the buffers, rather than with
        # optim.shrink (the same arithmetic, x - clamp(x, -thr, thr)): two fresh (B x k)
        # tensors per iteration make a 10,000 x 128 float32 iteration about 1.7 times slower.
        if positive:  # one-sided shrink: the prox of lam |z|_1 + [z >= 0]
            Z_new.sub_(thr).clamp_min_(0.0)
        else:  # shrink, in place (D is scratch here)
            Z_new.sub_(torch.clamp(Z_new, -thr, thr, out=D))
        torch.sub(Z_new, Z, out=D)  # the step
        if restart:  # reset where the step z_new - z points against the move x - z_new
            t = torch.where(torch.linalg.vecdot(X.sub_(Z_new), D)[:, None] > 0, 1.0, t)
        t_next, weight = optim.fista_momentum(t)
        torch.addcmul(Z_new, weight, D, out=X)
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


@checked(
    rho=Real(low=0.0, low_open=True, optional=True),
    relax=Real(low=0.0, low_open=True, high=2.0),
    **_SOLVER,
)
def admm(
    Y: torch.Tensor,
    W: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    rho: float | None = None,
    relax: float = 1.6,
    config: SolverConfig | None = None,
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
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the dictionary, ``(n, k)``; no all-zero column.
        lam: :math:`\lambda \ge 0` (scikit-learn's ``alpha``).
        steps: the most iterations to run.
        rho: the penalty :math:`\rho > 0`. Default ``0.03 * L`` with :math:`L =
            \lambda_{\max}(W^\top W)` (:func:`lipschitz`), between the best values measured
            for 128 random unit-norm atoms on the digits (about 0.05 L) and on whitened
            patches (about 0.02 L); worth tuning for other dictionaries.
        relax: over-relaxation :math:`\alpha \in (0, 2)` (1 is plain ADMM; 1.5–1.8 is
            usually faster).
        config: a :class:`SolverConfig` (``tol``, ``check_every`` and ``record`` as for
            :func:`fista`; ``restart`` does not apply).

    Returns:
        A :class:`SparseCode`.
    """
    if relax == 2.0:  # alpha = 2 no longer converges
        raise ValueError(f"relax must be < 2; got {relax}")
    tol, record = config.tol, config.record
    P, Z = _prepare(Y, W, lam, None, None)
    rho = 0.03 * P.L if rho is None else rho
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
        Z = optim.shrink(X, thr)
        U = X.sub_(Z)  # u + x_hat - z_new, in X's buffer
        done = it
        if hist is not None:
            out[rows] = Z
            hist.append(_energies(P, out))
        if tol is not None and it % config.check_every == 0:
            stop, (rows, Z, b, yy, U, c) = _retire(
                P, tol, False, hist is not None, out, rows, Z, b, yy, U, c
            )
            if stop:
                break
    out[rows] = Z
    return _finish(P, out, done, hist)
