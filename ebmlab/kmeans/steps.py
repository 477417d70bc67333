r"""One training step of K-means: Lloyd's (coordinate descent) or a gradient step on :math:`W`."""

from __future__ import annotations

import torch

from .._validation import Real, checked
from .checks import _check_centers, _check_labels, _check_Y
from .model import _sq_distances

__all__ = ["lloyd_step", "gradient_step"]


# --------------------------------------------------------------------------- training steps


def _m_step(Y, labels, C_old, sums=None):
    """Means of the clusters; empty clusters are re-seeded at the worst-explained points."""
    k = C_old.shape[0]
    sums = torch.zeros_like(C_old) if sums is None else sums.zero_()
    sums.index_add_(0, labels, Y)
    counts = torch.bincount(labels, minlength=k).to(Y.dtype)
    empty = counts == 0
    relocated = bool(empty.any())
    if relocated:
        # As scikit-learn does: an empty prototype moves onto one of the points with the largest
        # energy under the old prototypes, and that point leaves its old cluster. The move lowers
        # the energy (the point's energy drops to 0, its old cluster's mean fits the rest better).
        idx = empty.nonzero().squeeze(1)
        worst = ((Y - C_old[labels]) ** 2).sum(dim=1).topk(idx.numel()).indices
        old = labels[worst]
        sums.index_add_(0, old, -Y[worst])
        counts.index_add_(0, old, -torch.ones_like(old, dtype=Y.dtype))
        sums[idx] = Y[worst]
        counts[idx] = 1.0
    C = sums / counts.clamp(min=1.0).unsqueeze(1)
    if relocated:  # a cluster emptied by the move keeps its prototype
        C = torch.where((counts == 0).unsqueeze(1), C_old, C)
    return C, relocated


def lloyd_step(
    Y: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One step of Lloyd's algorithm: coordinate descent on :math:`\sum_i E(y_i, z_i)`.

    1. z-step (skipped when ``labels`` are given): :math:`z_i = \arg\min_z E(y_i, z)`, the
       nearest prototype.
    2. W-step: with the codes fixed the energy is a sum of squares in each :math:`w_j`,
       minimised by the mean of the points assigned to it,

       .. math:: w_j = \frac{1}{|S_j|}\sum_{i \in S_j} y_i, \qquad S_j = \{i : z_i = e_j\}.

    Each step minimises the energy exactly over one block of variables, so
    :math:`\sum_i F_\infty(y_i)` never rises. A prototype with no point is moved onto the point
    worst explained by its prototype (scikit-learn's rule), which lowers the energy too.

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.
        labels: optional ``(n,)`` codes to use instead of the z-step.

    Returns:
        ``(new_centers, labels)``: the updated ``(k, d)`` prototypes and the ``(n,)`` labels
        used to compute them.
    """
    Y = _check_Y(Y)
    C = _check_centers(centers, Y)
    if labels is None:
        labels = _sq_distances(Y, C).argmin(dim=1)
    else:
        labels = _check_labels(labels, Y.shape[0], C.shape[0], Y.device)
    new, _ = _m_step(Y, labels, C)
    return new, labels


@checked(lr=Real(low=0.0, low_open=True))
def gradient_step(
    Y: torch.Tensor, centers: torch.Tensor, lr: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One gradient step on the prototypes, with each point's code inferred first.

    The loss is the mean free energy, :math:`L(W) = \frac1n\sum_i \min_z E(y_i, z)`. With the
    minimising codes :math:`\check z_i` held fixed its gradient is

    .. math:: \nabla_{w_j} L = -\frac{2}{n}\sum_{i \in S_j} (y_i - w_j)
              = -\frac{2|S_j|}{n}\,(\bar y_j - w_j),

    so :math:`w_j \leftarrow w_j - \eta\nabla_{w_j} L` moves each prototype towards the mean
    :math:`\bar y_j` of its points by the fraction :math:`2\eta|S_j|/n`: slowly for small
    clusters, and never further than Lloyd's step (which jumps to the mean) unless
    :math:`\eta` is too large.

    Args:
        Y: data, ``(n, d)``.
        centers: prototypes as rows, ``(k, d)``.
        lr: step size :math:`\eta > 0`.

    Returns:
        ``(new_centers, labels)``.
    """
    Y = _check_Y(Y)
    C = _check_centers(centers, Y)
    n = Y.shape[0]
    labels = _sq_distances(Y, C).argmin(dim=1)
    sums = torch.zeros_like(C).index_add_(0, labels, Y)
    counts = torch.bincount(labels, minlength=C.shape[0]).to(Y.dtype).unsqueeze(1)
    grad = -2.0 / n * (sums - counts * C)
    return C - lr * grad, labels
