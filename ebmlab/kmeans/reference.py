r"""Lloyd's algorithm as the book writes it: the reference for :func:`ebmlab.kmeans.lloyd`.

Every distance is computed at every iteration, as a sum of squared differences, and each mean
from scratch. The fast :func:`~ebmlab.kmeans.lloyd` (one matrix product per z-step, Hamerly's
bounds, running sums) gives the same iterates; ``tests/test_kmeans_reference.py`` checks that
they agree at every iteration.
"""

from __future__ import annotations

import torch

from .._validation import Int, Real, checked
from ..base import History
from .checks import _check_centers, _check_k_fits, _check_Y
from .loops import LloydResult

__all__ = ["lloyd"]


@checked(max_iter=Int(low=1), tol=Real(low=0.0))
def lloyd(Y: torch.Tensor, init: torch.Tensor, *, max_iter=300, tol=0.0) -> LloydResult:
    r"""Lloyd's algorithm: coordinate descent on :math:`\sum_i E(y_i, z_i)`, from ``init``.

    .. math:: \text{z-step: } z_i = \arg\min_z \lVert y_i - Wz\rVert^2, \qquad
              \text{W-step: } w_j = \frac{1}{|S_j|} \sum_{i \in S_j} y_i,
              \quad S_j = \{i : z_i = e_j\},

    until no code changes, the prototypes move by at most ``tol`` times the mean variance of
    the features, or ``max_iter`` iterations have run.

    Args:
        Y: data, ``(n, d)``.
        init: initial prototypes as rows, ``(k, d)``.
        max_iter: the most iterations, :math:`\ge 1`.
        tol: relative tolerance on the prototypes' move, :math:`\ge 0`.

    Returns:
        A :class:`~ebmlab.kmeans.LloydResult`; its ``history`` holds ``energy`` and ``moved``.
    """
    Y = _check_Y(Y)
    W = _check_centers(init, Y, "init").clone()  # the prototypes w_j, as rows
    _check_k_fits(W.shape[0], Y.shape[0], "init's number of rows")
    small = tol * float(Y.var(dim=0, correction=0).mean())  # a move this small: converged
    z, energy, moved, converged = None, [], [], False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is read after the loop
        # z-step: the code of least energy E(y_i, e_j) = ||y_i - w_j||^2, the nearest prototype
        F, z_new = ((Y[:, None, :] - W[None, :, :]) ** 2).sum(dim=2).min(dim=1)
        energy.append(float(F.sum()))
        moved.append(len(Y) if z is None else int((z_new != z).sum()))
        if moved[-1] == 0:
            converged = True  # no code changed: the W-step would change nothing
            break
        z = z_new
        # W-step: each prototype moves to the mean of its points
        W_old, W = W, _means(Y, z, W)
        if tol > 0 and float(((W - W_old) ** 2).sum()) <= small:
            converged = True
            break
    z = ((Y[:, None, :] - W[None, :, :]) ** 2).sum(dim=2).argmin(dim=1)  # the codes of W
    inertia = float(((Y - W[z]) ** 2).sum())
    history = History({"energy": energy, "moved": moved}, per="step")
    return LloydResult(W, z, inertia, n_iter, converged, history)


def _means(Y: torch.Tensor, z: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """The W-step: ``w_j`` is the mean of the points with ``z_i = j``. A prototype with no point
    moves onto the point worst explained, which leaves its cluster (scikit-learn's rule); a
    prototype whose cluster that move empties stays where it is."""
    k = W.shape[0]
    empty = [j for j in range(k) if not bool((z == j).any())]
    if empty:
        worst = ((Y - W[z]) ** 2).sum(dim=1).topk(len(empty)).indices
        z = z.clone()
        z[worst] = torch.tensor(empty, device=z.device)
    return torch.stack([Y[z == j].mean(dim=0) if bool((z == j).any()) else W[j] for j in range(k)])
