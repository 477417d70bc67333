r"""Using the trained energy: completing missing coordinates and projecting onto the prototypes."""

from __future__ import annotations

import torch

from .._validation import as_tensor
from .checks import _check_centers, _check_Y
from .model import _assign

__all__ = ["complete", "project"]


# --------------------------------------------------------------------------- using the energy


def complete(Y: torch.Tensor, centers: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    r"""Fill in missing coordinates by minimising the energy over them and over :math:`z`.

    With :math:`y = (y_o, y_m)` split into observed and missing coordinates,

    .. math:: \min_{y_m} \min_z \lVert y - Wz\rVert^2
              = \min_j \lVert y_o - w_{j,o}\rVert^2 \quad\text{at}\quad y_m = w_{\check j, m},

    i.e. the prototype nearest on the observed coordinates supplies the missing ones. (With a
    single observed coordinate :math:`y_1` this predicts :math:`y_2` from :math:`y_1`.)

    Args:
        Y: data, ``(n, d)``; the values at missing positions are ignored.
        centers: prototypes as rows, ``(k, d)``.
        observed: boolean mask, ``(d,)`` (the same for every row) or ``(n, d)``; each row must
            observe at least one coordinate.

    Returns:
        ``(n, d)``: ``Y`` with its missing coordinates filled in.
    """
    Y = as_tensor(Y, "Y", ndim=2, finite=False)  # missing entries may be NaN
    C = _check_centers(centers, Y)
    if not isinstance(observed, torch.Tensor) or observed.dtype != torch.bool:
        raise TypeError("observed must be a boolean torch.Tensor (True where a value is known)")
    n, d = Y.shape
    if observed.shape not in {(d,), (n, d)}:
        raise ValueError(
            f"observed must have shape ({d},) or ({n}, {d}) to match Y; got {tuple(observed.shape)}"
        )
    known = observed.to(Y.device).expand(n, d)
    if bool((known.sum(dim=1) == 0).any()):
        raise ValueError("observed must mark at least one known coordinate in every row")
    if not bool(torch.isfinite(Y[known]).all()):
        raise ValueError("Y must be finite at the observed positions; found NaN or inf")
    M = known.to(Y.dtype)
    Y = torch.where(known, Y, torch.zeros((), dtype=Y.dtype, device=Y.device))
    # sum over observed j of (y - c)^2 = sum M y^2 - 2 (M y) c^T + M (c^2)^T: two matrix products
    D = torch.addmm((M * Y * Y).sum(dim=1, keepdim=True), M * Y, C.T, beta=1.0, alpha=-2.0)
    D = D.addmm_(M, (C * C).T)
    best = D.argmin(dim=1)
    return torch.where(known, Y, C[best])


def project(Y: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    r"""The lowest-energy point of the model for each datum: :math:`W\check z`, the nearest prototype.

    This is the projection onto the model's "data manifold", and it shows K-means'
    limitation: the manifold is just the :math:`k` points where :math:`F_\infty = 0`.

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.

    Returns:
        ``(n, d)`` projections.
    """
    Y = _check_Y(Y)
    C = _check_centers(centers, Y)
    labels, _ = _assign(Y, C)
    return C[labels]
