r"""The K-means energy :math:`E(y, z) = \lVert y - Wz\rVert^2`, its free energy, and inference.

:func:`energy` evaluates :math:`E(y, z)` at given codes, :func:`energies` at every code,
:func:`free_energy` eliminates the code (:math:`F_\infty` or :math:`F_\beta`), and
:func:`infer_z` / :func:`assign` find the minimising code, the nearest prototype.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import energy as _energy
from .._validation import Boolean, Real, as_tensor, checked
from .checks import _check_centers, _check_labels, _check_Y

__all__ = ["energy", "energies", "free_energy", "infer_z", "assign"]


# --------------------------------------------------------------------------- the energy


def energy(Y: torch.Tensor, centers: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""The K-means energy of each data point with its code, :math:`E(y, z) = \lVert y - Wz\rVert^2`.

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)`` (that is, :math:`W^\top`).
        z: codes, either ``(n, k)`` real vectors (one-hot for K-means; any real :math:`z` is
            accepted, which evaluates :math:`E` off the one-hot set) or ``(n,)`` integer labels
            (label :math:`j` stands for :math:`e_j`).

    Returns:
        ``(n,)`` energies, computed directly as a sum of squares (no cancellation).
    """
    Y = _check_Y(Y)
    C = _check_centers(centers, Y)
    n, k = Y.shape[0], C.shape[0]
    if isinstance(z, np.ndarray) and np.issubdtype(z.dtype, np.integer):
        z = torch.from_numpy(z)
    if isinstance(z, torch.Tensor) and not z.is_floating_point():
        recon = C[_check_labels(z, n, k, Y.device, "z (integer labels)")]
    else:
        Z = as_tensor(z, "z", ndim=2).to(device=Y.device, dtype=Y.dtype)
        if Z.shape != (n, k):
            raise ValueError(
                f"z must have shape (n, k) = ({n}, {k}) or be (n,) integer labels; "
                f"got {tuple(Z.shape)}"
            )
        recon = Z @ C
    return ((Y - recon) ** 2).sum(dim=1)


def _cross(Y, C, csq):
    """``||c||^2 - 2 y.c`` for every row of ``Y`` and of ``C``, and the dimension of ``C``'s rows.

    One matrix product. On the CPU the result is laid out ``(k, n)``: measured with MKL and
    OpenBLAS, a product with few output rows and many columns runs up to twice as fast as its
    transpose, and reducing over the first dimension is cheap.
    """
    if Y.device.type == "cpu":
        return torch.addmm(csq.unsqueeze(1), C, Y.T, beta=1.0, alpha=-2.0), 0
    return torch.addmm(csq, Y, C.T, beta=1.0, alpha=-2.0), 1


def _sq_distances(Y, C):
    # ||y||^2 - 2 y.c + ||c||^2: one matrix product instead of an (n, k, d) difference tensor
    D, dim = _cross(Y, C, (C * C).sum(dim=1))
    D = D.T if dim == 0 else D
    return (D + (Y * Y).sum(dim=1, keepdim=True)).clamp_(min=0.0)


def energies(Y: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    r"""The energy of every data point with every code, :math:`E(y_i, e_j) = \lVert y_i - w_j\rVert^2`.

    Computed with one matrix product,

    .. math:: \lVert y - w\rVert^2 = \lVert y\rVert^2 - 2\,y^\top w + \lVert w\rVert^2 ,

    clamped at 0 (the expansion can round a tiny distance to a tiny negative number; its absolute
    error is a few ulps of :math:`\lVert y\rVert^2 + \lVert w\rVert^2`).

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.

    Returns:
        ``(n, k)`` energies.
    """
    Y = _check_Y(Y)
    return _sq_distances(Y, _check_centers(centers, Y))


@checked(beta=Real(low=0.0, low_open=True, allow_inf=True))
def free_energy(Y: torch.Tensor, centers: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
    r"""Free energy of each data point, the latent code eliminated.

    .. math:: F_\infty(y) = \min_j \lVert y - w_j\rVert^2, \qquad
              F_\beta(y) = -\frac1\beta \log \frac1k \sum_{j=1}^k e^{-\beta \lVert y - w_j\rVert^2}

    :math:`F_\infty` (the default) is K-means' own energy: :math:`k` quadratic wells meeting
    along the boundaries of the Voronoi cells. :math:`F_\beta` (see
    :func:`ebmlab.energy.free_energy`) is a smooth soft-minimum of the wells.

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.
        beta: inverse temperature, :math:`\beta > 0`; ``math.inf`` for the minimum.

    Returns:
        ``(n,)`` free energies.
    """
    Y = _check_Y(Y)
    return _energy.free_energy(_sq_distances(Y, _check_centers(centers, Y)), beta, dim=1)


@checked(one_hot=Boolean())
def infer_z(Y: torch.Tensor, centers: torch.Tensor, one_hot: bool = False) -> torch.Tensor:
    r"""Inference of the latent code, :math:`\check z = \arg\min_z E(y, z)`: the nearest prototype.

    .. math:: \check z = e_{\check j}, \qquad \check j = \arg\min_j \lVert y - w_j\rVert^2

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.
        one_hot: return the codes :math:`\check z` as ``(n, k)`` one-hot rows (in ``Y``'s dtype)
            instead of the ``(n,)`` labels :math:`\check j`.

    Returns:
        ``(n,)`` int64 labels, or ``(n, k)`` one-hot codes.
    """
    Y = _check_Y(Y)
    C = _check_centers(centers, Y)
    labels, _ = _assign(Y, C)
    if not one_hot:
        return labels
    return torch.nn.functional.one_hot(labels, C.shape[0]).to(Y.dtype)


def assign(Y: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The z-step of K-means: each point's nearest prototype and its energy there.

    .. math:: \check j_i = \arg\min_j \lVert y_i - w_j\rVert^2, \qquad
              F_\infty(y_i) = \lVert y_i - w_{\check j_i}\rVert^2

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.

    Returns:
        ``(labels, F)``: ``(n,)`` int64 labels and ``(n,)`` free energies (from the expansion of
        :func:`energies`; exact to a few ulps of :math:`\lVert y\rVert^2`).
    """
    Y = _check_Y(Y)
    return _assign(Y, _check_centers(centers, Y))


def _assign(Y, C):
    """:func:`assign` on checked inputs."""
    F, labels = _sq_distances(Y, C).min(dim=1)
    return labels, F
