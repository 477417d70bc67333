r"""The training loop of K-means: :func:`lloyd`, plain or with Hamerly's bounds."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validation import Boolean, Int, Real, checked
from ..base import History
from .checks import _BOUNDS, _check_centers, _check_k_fits, _check_Y
from .model import _cross
from .steps import _m_step

__all__ = ["lloyd", "LloydResult", "AUTO_BOUNDS_MIN_NK"]


# --------------------------------------------------------------------------- the training loop

# ``bounds="auto"`` uses Hamerly's bounds from this many point-prototype pairs on. Measured with
# ``python -m ebmlab.bench.kmeans --loop plain|bounds`` on a 2-core Intel Xeon (AVX-512), on its
# native and on its pinned AVX2 code paths: at n k = 100,000 and 115,000 the bookkeeping cost as
# much as or more than the distances it saved; at 640,000 the bounds were 1.4-1.5x faster.
AUTO_BOUNDS_MIN_NK = 200_000


class LloydResult(NamedTuple):
    """Result of :func:`lloyd`."""

    centers: torch.Tensor
    """The prototypes, ``(k, d)``."""
    labels: torch.Tensor
    """Each point's nearest prototype under ``centers``, ``(n,)``."""
    inertia: float
    """The energy :math:`\\sum_i \\lVert y_i - w_{z_i}\\rVert^2` at the end."""
    n_iter: int
    """The number of z-steps taken (as scikit-learn counts them)."""
    converged: bool
    """Whether the labels stopped changing (or the prototypes stopped moving, given ``tol``)."""
    history: History
    """One entry per z-step. ``moved`` is the number of points that changed cluster (all
    :math:`n` at the first), and with ``record=True`` ``energy``, the energy
    :math:`\\sum_i E(y_i, z_i)` just after that z-step."""


@checked(max_iter=Int(low=1), tol=Real(low=0.0), bounds=_BOUNDS, record=Boolean())
def lloyd(
    Y: torch.Tensor,
    init: torch.Tensor,
    *,
    max_iter: int = 300,
    tol: float = 0.0,
    bounds: bool | str = "auto",
    record: bool = False,
) -> LloydResult:
    r"""Train K-means by Lloyd's algorithm (coordinate descent) until the codes stop changing.

    Each iteration is a z-step and a W-step (see :func:`lloyd_step`); the loop stops when no
    label changes (a fixed point: the next W-step would not move anything), when the total
    squared move of the prototypes is at most ``tol`` times the mean variance of the features
    (scikit-learn's rule), or after ``max_iter`` iterations. The energy

    .. math:: L(W) = \sum_{i=1}^n \min_z \lVert y_i - Wz\rVert^2

    never rises from one iteration to the next.

    Two exact implementations of the same iterates:

    * ``bounds=False``: every z-step computes all :math:`n \times k` distances with one matrix
      product (:func:`energies`) and an ``argmin``.
    * ``bounds=True``: Hamerly's bounds (2010). Each point keeps an upper bound :math:`u_i` on
      the distance to its prototype and a lower bound :math:`l_i` on the distance to the second
      nearest; after the prototypes move by :math:`\delta_j`, :math:`u_i \mathrel{+}=
      \delta_{z_i}` and :math:`l_i \mathrel{-}= \max_j \delta_j`. A point whose
      :math:`u_i \le \max(l_i, s_{z_i})`, with :math:`s_j` half the distance from :math:`w_j`
      to its nearest other prototype, cannot change cluster (triangle inequality), so only the
      others are recomputed, in one smaller matrix product. The bounds carry a margin for
      rounding, so they never skip a point whose label could change. Late iterations touch few
      points.
    * ``bounds="auto"`` (default): the bounds when :math:`nk \ge 200\,000`; below that their
      bookkeeping costs more than it saves.

    Both update the clusters' sums for the points that changed cluster only, and break ties
    towards the lowest index, like ``argmin``.

    Args:
        Y: data, ``(n, d)``.
        init: initial prototypes, ``(k, d)`` (e.g. from :func:`kmeans_plusplus`).
        max_iter: the most iterations, :math:`\ge 1`.
        tol: relative tolerance on the prototypes' move, :math:`\ge 0` (0: run until the labels
            are stable).
        bounds: ``True``, ``False`` or ``"auto"``: use Hamerly's bounds to skip points that
            cannot change cluster.
        record: keep the energy after every z-step in ``history`` (costs one extra pass over
            the data per iteration; ``history`` always counts the points that changed cluster).

    Returns:
        A :class:`LloydResult`.
    """
    Y = _check_Y(Y)
    C = _check_centers(init, Y, "init")
    _check_k_fits(C.shape[0], Y.shape[0], "init's number of rows")
    return _lloyd(Y, C, max_iter, tol, bounds, record)


def _lloyd(Y, C, max_iter, tol, bounds, record) -> LloydResult:
    """:func:`lloyd` on checked inputs."""
    tol_abs = tol * float(Y.var(dim=0, correction=0).mean()) if tol > 0 else 0.0
    log = _Log(Y, record)
    with torch.no_grad():
        if bounds == "auto":  # the bounds' bookkeeping pays off beyond a small problem
            bounds = Y.shape[0] * C.shape[0] >= AUTO_BOUNDS_MIN_NK
        loop = _lloyd_bounded if (bounds and C.shape[0] > 1) else _lloyd_plain
        C, labels, n_iter, converged = loop(Y, C.clone(), max_iter, tol_abs, log)
        inertia = float(torch.nn.functional.mse_loss(C[labels], Y, reduction="sum"))
    return LloydResult(C, labels, inertia, n_iter, converged, log.history())


class _Log:
    """What the loops record after each z-step: the points that changed cluster, and with
    ``record`` the energy (an extra pass over the data)."""

    def __init__(self, Y, record):
        self.Y, self.record, self.energy, self.moved = Y, record, [], []

    def __call__(self, labels, C, moved):
        if self.record:
            self.energy.append(float(((self.Y - C[labels]) ** 2).sum()))
        self.moved.append(moved)

    def history(self) -> History:
        curves = {"energy": self.energy} if self.record else {}
        return History({**curves, "moved": self.moved}, per="step")


def _move(sums, counts, Y, movers, old, new):
    """Update the clusters' sums and sizes for the points that changed cluster only."""
    Ym = Y[movers]
    ones = torch.ones_like(old, dtype=Y.dtype)
    sums.index_add_(0, old, Ym, alpha=-1.0).index_add_(0, new, Ym)
    counts.index_add_(0, old, ones, alpha=-1.0).index_add_(0, new, ones)


def _w_step(Y, labels, C, sums, counts, rebuild):
    """Means from the running sums; returns ``(centers, rebuild_next_time)``."""
    if rebuild:
        sums.zero_().index_add_(0, labels, Y)
        counts.copy_(torch.bincount(labels, minlength=C.shape[0]))
    if int(torch.count_nonzero(counts)) < C.shape[0]:
        C_new, _ = _m_step(Y, labels, C)  # re-seeds the empty prototypes
        return C_new, True
    return sums / counts.unsqueeze(1), False


def _lloyd_plain(Y, C, max_iter, tol_abs, log):
    # Late iterations move few points, so the clusters' sums are updated for the movers only
    # (two small index_add_ calls instead of a pass over all the data).
    sums = torch.empty_like(C)
    counts = torch.empty(C.shape[0], dtype=Y.dtype, device=Y.device)
    labels_old = None
    rebuild = True
    converged = strict = False
    for it in range(max_iter):  # noqa: B007 - `it` counts the iterations after the loop
        # z-step: ||y||^2 is the same for every prototype, so the argmin does not need it
        labels = _argmin(Y, C)
        if labels_old is None:
            log(labels, C, Y.shape[0])
        else:
            movers = (labels != labels_old).nonzero().squeeze(1)
            log(labels, C, movers.numel())
            if movers.numel() == 0:
                converged = strict = True  # a fixed point: the W-step would change nothing
                break
            if not rebuild:
                _move(sums, counts, Y, movers, labels_old[movers], labels[movers])
        C_new, rebuild = _w_step(Y, labels, C, sums, counts, rebuild)
        shift = float(((C_new - C) ** 2).sum()) if tol_abs > 0 else math.inf
        C = C_new
        labels_old = labels
        if shift <= tol_abs:
            converged = True
            break
    if not strict:  # labels that match the final prototypes
        labels = _argmin(Y, C)
    return C, labels, it + 1, converged


def _argmin(Y, C):
    """The nearest prototype of each row (``||y||^2`` is the same for all, so it is left out)."""
    D, dim = _cross(Y, C, (C * C).sum(dim=1))
    return D.min(dim=dim).indices  # ties go to the lowest index


def _nearest_two(Ys, ysq, C, csq, slack):
    """Labels, an upper bound on the nearest distance and a lower bound on the second nearest."""
    D, dim = _cross(Ys, C, csq)
    first, labels = D.min(dim=dim)  # ties go to the lowest index, as in a plain argmin
    D.scatter_(dim, labels.unsqueeze(dim), math.inf)
    second = D.amin(dim=dim)
    s = slack(ysq)
    upper = (first + ysq + s).clamp_(min=0.0).sqrt_()
    lower = (second + ysq - s).clamp_(min=0.0).sqrt_()
    return labels, upper, lower


def _lloyd_bounded(Y, C, max_iter, tol_abs, log):
    k, d = C.shape
    # rounding error of an expanded squared distance: at most about d ulps of ||y||^2 + ||c||^2
    # (a dot product of length d); the margin is generous, it only costs a few recomputations
    eps = (2 * d + 64) * torch.finfo(Y.dtype).eps
    ysq = (Y * Y).sum(dim=1)
    converged = strict = False
    csq = (C * C).sum(dim=1)

    def slack(yq):
        return eps * (yq + csq.max())

    labels, upper, lower = _nearest_two(Y, ysq, C, csq, slack)
    sums = torch.empty_like(C)
    counts = torch.empty(k, dtype=Y.dtype, device=Y.device)
    rebuild = True  # recompute the clusters' sums from scratch (else: update the movers only)
    for it in range(max_iter):  # noqa: B007 - `it` counts the iterations after the loop
        if it > 0:
            # half the distance from each prototype to its nearest neighbour
            CC = torch.addmm(csq.unsqueeze(1), C, C.T, beta=1.0, alpha=-2.0)
            CC += csq.unsqueeze(0)
            CC.fill_diagonal_(math.inf)
            half = 0.5 * (CC.amin(dim=1) - 2.0 * eps * csq.max()).clamp_(min=0.0).sqrt_()
            todo = (upper > torch.maximum(half[labels], lower)).nonzero().squeeze(1)
            lab, up, lo = _nearest_two(Y[todo], ysq[todo], C, csq, slack)
            moved = lab != labels[todo]
            movers = todo[moved]
            if not rebuild and movers.numel():
                _move(sums, counts, Y, movers, labels[movers], lab[moved])
            labels[todo] = lab
            upper[todo] = up
            lower[todo] = lo
            log(labels, C, movers.numel())
            if movers.numel() == 0:
                converged = strict = True  # a fixed point: the W-step would change nothing
                break
        else:
            log(labels, C, Y.shape[0])
        C_new, rebuild = _w_step(Y, labels, C, sums, counts, rebuild)
        delta = ((C_new - C) ** 2).sum(dim=1)
        C = C_new
        csq = (C * C).sum(dim=1)
        if tol_abs > 0 and float(delta.sum()) <= tol_abs:
            converged = True
            break
        if rebuild:  # prototypes jumped: recompute every point at the next z-step
            upper.fill_(math.inf)
        else:
            delta = delta.sqrt_()
            upper += delta[labels]
            lower -= delta.max()
    if not strict:
        labels, _, _ = _nearest_two(Y, ysq, C, csq, slack)
    return C, labels, it + 1, converged
