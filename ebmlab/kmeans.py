r"""K-means as a latent-variable energy-based model.

The data :math:`y \in \mathbb R^d` are explained by :math:`k` prototypes, the columns of a
matrix :math:`W \in \mathbb R^{d \times k}`, and a latent code :math:`z` that is *one-hot*
(:math:`z \in \{e_1, \dots, e_k\}`):

.. math:: E(y, z) = \lVert y - W z \rVert^2, \qquad
          F_\infty(y) = \min_z E(y, z) = \min_j \lVert y - w_j \rVert^2 .

Inference of :math:`z` is a search over :math:`k` values (the nearest prototype); the free
energy :math:`F_\infty` is a landscape of :math:`k` quadratic wells, with exactly :math:`k`
points of zero energy. Training minimises :math:`\sum_i F_\infty(y_i)` over :math:`W`, either
by *coordinate descent* (Lloyd's algorithm: the best :math:`z` for every point, then the best
:math:`W` for those codes — neither step can raise the energy) or by gradient steps on
:math:`W`.

In code the prototypes are stored as the **rows** of ``centers`` (shape ``(k, d)``, as in
scikit-learn), i.e. ``centers`` is :math:`W^\top` and :math:`Wz` is ``z @ centers``.

Every function is batched (rows of ``Y`` are data points) and runs on the device and in the
floating dtype of its input. :class:`KMeans` wraps them in scikit-learn's shape.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from . import energy as _energy
from ._validation import as_tensor, check_int, check_scalar, check_seed
from .runtime import generator

__all__ = [
    "energy",
    "energies",
    "free_energy",
    "infer_z",
    "assign",
    "lloyd_step",
    "gradient_step",
    "kmeans_plusplus",
    "lloyd",
    "LloydResult",
    "complete",
    "project",
    "KMeans",
]


# --------------------------------------------------------------------------- input checks


def _check_Y(Y, name: str = "Y") -> torch.Tensor:
    t = as_tensor(Y, name, ndim=2, finite=False)
    # one sum is much cheaper than an element-wise test, and it is finite whenever every entry
    # is (barring overflow, which the element-wise test then rules out)
    if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must contain only finite values; found NaN or inf")
    return t


def _check_centers(centers, Y: torch.Tensor, name: str = "centers") -> torch.Tensor:
    C = as_tensor(centers, name, ndim=2)
    if C.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{name} must have one column per feature of the data ({Y.shape[1]}); "
            f"got shape {tuple(C.shape)}"
        )
    return C.to(device=Y.device, dtype=Y.dtype)


def _check_k(k, n: int, name: str = "k") -> int:
    k = check_int(k, name, low=1)
    if k > n:
        raise ValueError(f"{name} must be <= the number of data points ({n}); got {k}")
    return k


def _check_labels(labels, n: int, k: int, device, name: str = "labels") -> torch.Tensor:
    lab = as_tensor(labels, name, ndim=1, integer=True)
    if lab.shape[0] != n:
        raise ValueError(f"{name} must have one entry per row of Y ({n}); got {lab.shape[0]}")
    if bool((lab < 0).any()) or bool((lab >= k).any()):
        raise ValueError(f"{name} must lie in 0..{k - 1}")
    return lab.to(device=device, dtype=torch.long)


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
    C = _check_centers(centers, Y)
    return _sq_distances(Y, C)


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
    return _energy.free_energy(energies(Y, centers), beta, dim=1)


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
    if not isinstance(one_hot, bool):
        raise TypeError(f"one_hot must be a bool; got {type(one_hot).__name__}")
    labels, _ = assign(Y, centers)
    if not one_hot:
        return labels
    k = _check_Y(centers, "centers").shape[0]
    return torch.nn.functional.one_hot(labels, k).to(_check_Y(Y).dtype)


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
    F, labels = energies(Y, centers).min(dim=1)
    return labels, F


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
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    n = Y.shape[0]
    labels = _sq_distances(Y, C).argmin(dim=1)
    sums = torch.zeros_like(C).index_add_(0, labels, Y)
    counts = torch.bincount(labels, minlength=C.shape[0]).to(Y.dtype).unsqueeze(1)
    grad = -2.0 / n * (sums - counts * C)
    return C - lr * grad, labels


# --------------------------------------------------------------------------- initialisation


def kmeans_plusplus(
    Y: torch.Tensor, k: int, seed: int | None = None, n_trials: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""k-means++ seeding: prototypes drawn from the data, far from each other.

    The first prototype is a data point drawn uniformly; each next one is drawn with probability
    proportional to the energy of the points under the prototypes chosen so far,

    .. math:: P(y_i) = \frac{D(y_i)}{\sum_l D(y_l)}, \qquad D(y) = \min_{j\ \text{chosen}}
              \lVert y - w_j\rVert^2 ,

    which gives an expected energy within :math:`O(\log k)` of the optimum (Arthur and
    Vassilvitskii, 2007). The *greedy* variant (scikit-learn's) draws ``n_trials`` candidates
    each time and keeps the one that lowers :math:`\sum_i D(y_i)` most.

    Args:
        Y: data, ``(n, d)``.
        k: number of prototypes, :math:`1 \le k \le n`.
        seed: seed of the generator (on ``Y``'s device); ``None`` draws one from torch's
            global stream.
        n_trials: candidates per prototype; ``None`` means :math:`2 + \lfloor\ln k\rfloor`,
            1 gives the original algorithm.

    Returns:
        ``(centers, indices)``: ``(k, d)`` prototypes (rows of ``Y``) and their ``(k,)`` row
        indices.
    """
    Y = _check_Y(Y)
    n = Y.shape[0]
    k = _check_k(k, n)
    seed = check_seed(seed)
    trials = 2 + int(math.log(k)) if n_trials is None else check_int(n_trials, "n_trials", low=1)
    g = generator(seed)  # draws on the CPU, so they are the same on every device
    ysq = (Y * Y).sum(dim=1)
    first = torch.randint(n, (1,), generator=g).to(Y.device)
    chosen = [first]
    closest = ((Y - Y[first]) ** 2).sum(dim=1)  # D(y) for every point
    for _ in range(1, k):
        if float(closest.sum()) > 0.0:
            cand = torch.multinomial(closest.cpu(), trials, replacement=True, generator=g)
        else:  # every point sits on a chosen prototype (duplicated data): any point will do
            cand = torch.randint(n, (trials,), generator=g)
        cand = cand.to(Y.device)
        d_cand = torch.addmm(ysq, Y[cand], Y.T, beta=1.0, alpha=-2.0)
        d_cand += ysq[cand].unsqueeze(1)
        d_cand = torch.minimum(d_cand.clamp_(min=0.0), closest)  # (trials, n)
        best = d_cand.sum(dim=1).argmin()
        chosen.append(cand[best].reshape(1))
        closest = d_cand[best]
    idx = torch.cat(chosen)
    return Y[idx].clone(), idx


# --------------------------------------------------------------------------- the training loop

# ``bounds="auto"`` uses Hamerly's bounds from this many point-prototype pairs on (measured on a
# 2-core CPU: below it the bookkeeping costs more than the distances it saves)
AUTO_BOUNDS_MIN_NK = 50_000


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
    history: torch.Tensor | None
    """With ``record=True``, the energy :math:`\\sum_i F_\\infty(y_i)` after each z-step."""


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
    * ``bounds="auto"`` (default): the bounds when :math:`nk \ge 50\,000`; below that their
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
        record: keep the energy after every z-step in ``history`` (costs one extra pass).

    Returns:
        A :class:`LloydResult`.
    """
    Y = _check_Y(Y)
    C = _check_centers(init, Y, "init").clone()
    _check_k(C.shape[0], Y.shape[0], "init's number of rows")
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_scalar(tol, "tol", low=0.0)
    if not isinstance(bounds, bool) and bounds != "auto":
        raise TypeError(f"bounds must be a bool or 'auto'; got {bounds!r}")
    if not isinstance(record, bool):
        raise TypeError(f"record must be a bool; got {type(record).__name__}")
    tol_abs = tol * float(Y.var(dim=0, correction=0).mean()) if tol > 0 else 0.0
    with torch.no_grad():
        if bounds == "auto":  # the bounds' bookkeeping pays off beyond a small problem
            bounds = Y.shape[0] * C.shape[0] >= AUTO_BOUNDS_MIN_NK
        loop = _lloyd_bounded if (bounds and C.shape[0] > 1) else _lloyd_plain
        C, labels, n_iter, converged, hist = loop(Y, C, max_iter, tol_abs, record)
        inertia = float(torch.nn.functional.mse_loss(C[labels], Y, reduction="sum"))
    history = torch.tensor(hist, dtype=torch.float64) if record else None
    return LloydResult(C, labels, inertia, n_iter, converged, history)


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


def _lloyd_plain(Y, C, max_iter, tol_abs, record):
    # Late iterations move few points, so the clusters' sums are updated for the movers only
    # (two small index_add_ calls instead of a pass over all the data).
    sums = torch.empty_like(C)
    counts = torch.empty(C.shape[0], dtype=Y.dtype, device=Y.device)
    labels_old = None
    rebuild = True
    hist = []
    converged = strict = False
    for it in range(max_iter):  # noqa: B007 - `it` counts the iterations after the loop
        # z-step: ||y||^2 is the same for every prototype, so the argmin does not need it
        labels = _argmin(Y, C)
        if record:
            hist.append(float(((Y - C[labels]) ** 2).sum()))
        if labels_old is not None:
            movers = (labels != labels_old).nonzero().squeeze(1)
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
    return C, labels, it + 1, converged, hist


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


def _lloyd_bounded(Y, C, max_iter, tol_abs, record):
    k, d = C.shape
    # rounding error of an expanded squared distance: at most about d ulps of ||y||^2 + ||c||^2
    # (a dot product of length d); the margin is generous, it only costs a few recomputations
    eps = (2 * d + 64) * torch.finfo(Y.dtype).eps
    ysq = (Y * Y).sum(dim=1)
    hist = []
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
            if record:
                hist.append(float(((Y - C[labels]) ** 2).sum()))
            if movers.numel() == 0:
                converged = strict = True  # a fixed point: the W-step would change nothing
                break
        elif record:
            hist.append(float(((Y - C[labels]) ** 2).sum()))
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
    return C, labels, it + 1, converged, hist


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
    labels, _ = assign(Y, centers)
    return _check_centers(centers, _check_Y(Y))[labels]


# --------------------------------------------------------------------------- the estimator


class KMeans:
    r"""K-means in scikit-learn's shape: ``KMeans(k).fit(Y)``, then ``centers_``, ``predict``.

    The model is the energy :math:`E(y, z) = \lVert y - Wz\rVert^2` with one-hot :math:`z`;
    :meth:`fit` minimises :math:`\sum_i \min_z E(y_i, z)` by Lloyd's algorithm (:func:`lloyd`)
    from a k-means++ start (:func:`kmeans_plusplus`).

    Args:
        k: number of prototypes, :math:`k \ge 1`.
        init: ``"k-means++"``, ``"random"`` (:math:`k` distinct data points) or a ``(k, d)``
            tensor of initial prototypes.
        max_iter: the most Lloyd iterations.
        tol: relative tolerance on the prototypes' move (scikit-learn's meaning); 0 runs until
            the labels stop changing.
        seed: seed of the initialisation.
        bounds: ``True``, ``False`` or ``"auto"``: skip points that cannot change cluster
            (Hamerly's bounds; the same result, see :func:`lloyd`).

    Attributes:
        centers_: the learned prototypes, ``(k, d)``, on the data's device and dtype.
        labels_: the training points' labels, ``(n,)``.
        inertia_: the final energy :math:`\sum_i \min_z E(y_i, z)` (a float).
        n_iter_: the number of Lloyd iterations run.
        converged_: whether the loop stopped before ``max_iter``.
        n_features_in_: the data's dimension :math:`d`.
    """

    def __init__(
        self,
        k: int = 8,
        *,
        init: str | torch.Tensor = "k-means++",
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | None = 0,
        bounds: bool | str = "auto",
    ) -> None:
        self.k = k
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.bounds = bounds

    def __repr__(self) -> str:
        init = self.init if isinstance(self.init, str) else "<tensor>"
        return f"KMeans(k={self.k}, init={init!r}, seed={self.seed})"

    def fit(self, Y: torch.Tensor) -> KMeans:
        """Learn the prototypes from the rows of ``Y`` (``(n, d)``); returns ``self``."""
        Y = _check_Y(Y)
        k = _check_k(self.k, Y.shape[0])
        seed = check_seed(self.seed)
        if isinstance(self.init, str):
            if self.init == "k-means++":
                init, _ = kmeans_plusplus(Y, k, seed=seed)
            elif self.init == "random":
                rows = torch.randperm(Y.shape[0], generator=generator(seed))[:k]  # CPU draw
                init = Y[rows.to(Y.device)].clone()
            else:
                raise ValueError(
                    f"init must be 'k-means++', 'random' or a (k, d) tensor; got {self.init!r}"
                )
        elif isinstance(self.init, (torch.Tensor, np.ndarray)):
            init = _check_centers(self.init, Y, "init")
            if init.shape[0] != k:
                raise ValueError(f"init must have k = {k} rows; got {init.shape[0]}")
        else:
            raise TypeError(
                "init must be 'k-means++', 'random' or a (k, d) tensor; "
                f"got {type(self.init).__name__}"
            )
        res = lloyd(Y, init, max_iter=self.max_iter, tol=self.tol, bounds=self.bounds)
        self.centers_ = res.centers
        self.labels_ = res.labels
        self.inertia_ = res.inertia
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.n_features_in_ = Y.shape[1]
        return self

    def _fitted(self) -> torch.Tensor:
        if not hasattr(self, "centers_"):
            raise RuntimeError("this KMeans is not fitted yet; call fit(Y) first")
        return self.centers_

    def predict(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y``: :math:`\\arg\\min_j \\lVert y - w_j\\rVert^2`."""
        return infer_z(Y, self._fitted())

    def fit_predict(self, Y: torch.Tensor) -> torch.Tensor:
        """:meth:`fit`, then the training points' labels."""
        return self.fit(Y).labels_

    def energy(self, Y: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
        """The free energy :math:`F_\\beta(y)` of each row of ``Y`` (see :func:`free_energy`)."""
        return free_energy(Y, self._fitted(), beta)

    def complete(self, Y: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Fill in the missing coordinates of ``Y`` (see :func:`complete`)."""
        return complete(Y, self._fitted(), observed)

    def project(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y`` (see :func:`project`)."""
        return project(Y, self._fitted())
