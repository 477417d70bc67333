r"""ISTA and FISTA as the formulas read: the reference implementations.

Each iteration is a gradient step on :math:`\tfrac12\lVert y - Wz\rVert^2`, then the shrinkage
of :math:`\lambda\lVert z\rVert_1`; FISTA takes the gradient step from a point extrapolated
with Nesterov's momentum. Signals are the rows of ``Y``, so :math:`Wz` is ``Z @ W.T`` and
:math:`W^\top r` is ``R @ W``.

These functions do not check their arguments (pass tensors of one dtype). The fast solvers,
:func:`ebmlab.sparse.ista` and :func:`ebmlab.sparse.fista` (one product with a precomputed Gram
matrix per iteration, reused buffers, screening, a stopping rule), give the same iterates; a
test proves it.
"""

from __future__ import annotations

import torch

from ..optim import fista_momentum, shrink

__all__ = ["ista", "fista"]


def ista(Y: torch.Tensor, W: torch.Tensor, lam: float, steps: int = 100) -> torch.Tensor:
    r"""ISTA from :math:`z_0 = 0`: :math:`z_{k+1} = \operatorname{shrink}_{\lambda/L}
    \big(z_k - \tfrac1L W^\top(Wz_k - y)\big)`, with :math:`L = \lambda_{\max}(W^\top W)`.

    Returns the codes after ``steps`` iterations, ``(B, k)``.
    """
    L = torch.linalg.eigvalsh((W.T @ W).double())[-1].item()  # the largest curvature
    Z = W.new_zeros(Y.shape[0], W.shape[1])
    for _ in range(steps):
        gradient = (Z @ W.T - Y) @ W
        Z = shrink(Z - gradient / L, lam / L)
    return Z


def fista(
    Y: torch.Tensor, W: torch.Tensor, lam: float, steps: int = 100, restart: bool = False
) -> torch.Tensor:
    r"""FISTA from :math:`z_0 = 0` (Beck and Teboulle, 2009): the ISTA step is taken from the
    extrapolated point :math:`x_k`,

    .. math:: z_{k+1} = \operatorname{shrink}_{\lambda/L}\big(x_k - \tfrac1L W^\top(Wx_k - y)
              \big),\quad t_{k+1} = \tfrac12\big(1 + \sqrt{1 + 4t_k^2}\big),\quad
              x_{k+1} = z_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(z_{k+1} - z_k),

    with :math:`x_0 = z_0` and :math:`t_0 = 1`. With ``restart``, a signal's momentum is reset
    (:math:`t_k \leftarrow 1`) when the step goes against it (O'Donoghue and Candès, 2015).

    Returns the codes after ``steps`` iterations, ``(B, k)``.
    """
    L = torch.linalg.eigvalsh((W.T @ W).double())[-1].item()
    Z = W.new_zeros(Y.shape[0], W.shape[1])
    X, t = Z, W.new_ones(Y.shape[0], 1)  # one t per signal
    for _ in range(steps):
        Z_next = shrink(X - (X @ W.T - Y) @ W / L, lam / L)  # an ISTA step from X
        if restart:  # the move X -> Z_next points against the step Z -> Z_next
            against = ((X - Z_next) * (Z_next - Z)).sum(dim=1, keepdim=True) > 0
            t = torch.where(against, 1.0, t)
        t, weight = fista_momentum(t)
        X = Z_next + weight * (Z_next - Z)
        Z = Z_next
    return Z
