r"""The initialisation of K-means: k-means++ seeding."""

from __future__ import annotations

import math

import torch

from .._validation import Int, Seed, checked
from ..runtime import generator
from .checks import _check_k_fits, _check_Y

__all__ = ["kmeans_plusplus"]


# --------------------------------------------------------------------------- initialisation


@checked(k=Int(low=1), seed=Seed(), n_trials=Int(low=1, optional=True))
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
    return _kmeans_plusplus(Y, _check_k_fits(k, Y.shape[0]), seed, n_trials)


def _kmeans_plusplus(Y, k, seed, n_trials):
    """:func:`kmeans_plusplus` on checked inputs."""
    n = Y.shape[0]
    trials = 2 + int(math.log(k)) if n_trials is None else n_trials
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
