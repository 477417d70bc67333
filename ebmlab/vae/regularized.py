r"""A regularised latent variable with an exact minimiser: :math:`F(y) = \min_z \|y - Wz\|^2 +
\lambda R(z)` for a decoder with orthonormal columns and an :math:`L_1` or :math:`L_2` penalty.
"""

from __future__ import annotations

import torch

from .._validation import Options, Real, as_tensor, checked
from ..energy import Minimum
from ..optim import shrink


@checked(lam=Real(low=0.0), penalty=Options(("l1", "l2")))
def regularized_energy(
    Y: torch.Tensor, W: torch.Tensor, lam: float, penalty: str = "l1"
) -> Minimum:
    r"""Free energy :math:`F(y) = \min_z \|y - Wz\|^2 + \lambda R(z)` for a decoder with
    orthonormal columns, and its minimiser.

    When :math:`W^\top W = I` (``W`` is ``(n, d)`` with :math:`d \le n`), the squared error splits
    into what the decoder cannot reach and a term per latent coordinate, with
    :math:`c = W^\top y`:

    .. math:: \|y - Wz\|^2 = \|y - WW^\top y\|^2 + \sum_{i=1}^d (c_i - z_i)^2 ,

    so the minimisation is separable and exact:

    * ``penalty="l1"``, :math:`R(z) = \|z\|_1`: :math:`\check z_i = \operatorname{sign}(c_i)
      \max(|c_i| - \lambda/2, 0)` (soft thresholding), and each coordinate costs
      :math:`c_i^2` if :math:`|c_i| \le \lambda/2`, else :math:`\lambda|c_i| - \lambda^2/4`;
    * ``penalty="l2"``, :math:`R(z) = \|z\|_2^2`: :math:`\check z = c/(1 + \lambda)`, costing
      :math:`\frac{\lambda}{1+\lambda}\|c\|^2` — a function of :math:`\|c\|` alone.

    With :math:`\lambda = 0` and a complete basis (:math:`d = n`) every :math:`y` gets
    :math:`F = 0`: an unregularised latent variable explains noise as well as data.

    Args:
        Y: the points :math:`y`, ``(..., n)``.
        W: decoder with orthonormal columns, ``(n, d)``, :math:`d \le n`.
        lam: the weight :math:`\lambda \ge 0` of the regulariser.
        penalty: ``"l1"`` or ``"l2"``.

    Returns:
        :class:`~ebmlab.energy.Minimum` ``(argmin, value, path)``: the minimising code
        :math:`\check z`, ``(..., d)``, the free energy :math:`F`, ``(...)``, and
        ``path=None``.
    """
    Y = as_tensor(Y, "Y", min_ndim=1)
    W = as_tensor(W, "W", ndim=2).to(Y.device, Y.dtype)
    n, d = W.shape
    if d > n:
        raise ValueError(f"W must have at most as many columns as rows; got shape {(n, d)}")
    if Y.shape[-1] != n:
        raise ValueError(f"Y must have {n} features (W has {n} rows); got shape {tuple(Y.shape)}")
    gram = W.T @ W
    tol = 1e-4 if W.dtype == torch.float32 else 1e-8
    if not torch.allclose(gram, torch.eye(d, dtype=W.dtype, device=W.device), atol=tol):
        raise ValueError("W must have orthonormal columns (W.T @ W == I)")
    c = Y @ W
    residual = (Y - c @ W.T).pow(2).sum(-1)
    if penalty == "l1":
        z = shrink(c, lam / 2)
    else:
        z = c / (1.0 + lam)
    R = z.abs().sum(-1) if penalty == "l1" else z.pow(2).sum(-1)
    F = residual + (c - z).pow(2).sum(-1) + lam * R
    return Minimum(z, F, None)
