r"""Losses without negatives: VICReg, Barlow Twins, and the predictive loss of BYOL and SimSiam.

A joint-embedding method with no negative pairs only pulls the two views of an image together.
On its own that has a trivial minimum: every image mapped to one point, the energy zero
everywhere (*collapse*). The methods here keep the volume of low energy small in another way,
by a term on the *batch* of embeddings rather than on pairs of images:

* **VICReg** (:func:`vicreg_loss`): an invariance term (mean squared distance of the pairs), a
  **variance** term (a hinge that keeps every dimension's standard deviation above
  :math:`\gamma`) and a **covariance** term (the squared off-diagonal covariances, so that the
  dimensions carry different information);
* **Barlow Twins** (:func:`barlow_twins_loss`): the cross-correlation matrix of the two views'
  batch-standardised embeddings (:func:`cross_correlation`), pushed to the identity;
* **BYOL and SimSiam** (:func:`negative_cosine`): a predictor maps one view's embedding to the
  other's, through a stop-gradient (and, for BYOL, a slowly moving target network); nothing in
  the loss forbids collapse, the asymmetry of the architecture avoids it in practice.

Each public function checks its inputs and calls an unchecked core (``_vicreg``, ...), which the
methods and :mod:`ebmlab.ssl.distributed` call with embeddings gathered from every process.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .._validation import Real, checked
from .losses import _pair

_WEIGHT = Real(low=0.0)
_GAMMA = Real(low=0.0, low_open=True)
_EPS = Real(low=0.0, low_open=True)


class VICRegTerms(NamedTuple):
    """VICReg's three terms, unweighted, and the weighted total that is minimised."""

    loss: torch.Tensor
    invariance: torch.Tensor
    variance: torch.Tensor
    covariance: torch.Tensor


def _batch(z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z1, z2 = _pair(z1, z2)
    if z1.shape[0] < 2:
        raise ValueError(
            f"z1 must hold at least 2 embeddings: a batch statistic (a standard deviation, a "
            f"covariance) needs two; got {z1.shape[0]}"
        )
    return z1, z2


def _variance(z: torch.Tensor, gamma: float, eps: float) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(gamma - std).mean()


def _covariance(z: torch.Tensor) -> torch.Tensor:
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = (zc.T @ zc) / (n - 1)
    off = cov - torch.diag(torch.diagonal(cov))
    return off.pow(2).sum() / d


def _vicreg(z1, z2, invariance: float, variance: float, covariance: float, gamma: float, eps):
    inv = F.mse_loss(z1, z2)
    var = _variance(z1, gamma, eps) + _variance(z2, gamma, eps)
    cov = _covariance(z1) + _covariance(z2)
    total = invariance * inv + variance * var + covariance * cov
    return VICRegTerms(total, inv, var, cov)


@checked(invariance=_WEIGHT, variance=_WEIGHT, covariance=_WEIGHT, gamma=_GAMMA, eps=_EPS)
def vicreg_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    invariance: float = 25.0,
    variance: float = 25.0,
    covariance: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> VICRegTerms:
    r"""VICReg's loss (Bardes, Ponce and LeCun, 2022) for a batch of pairs, with its three terms.

    For a batch :math:`Z \in \mathbb R^{N\times d}` and its partner :math:`Z'`,

    .. math:: \ell = \lambda\, s(Z, Z') + \mu\,[v(Z) + v(Z')] + \nu\,[c(Z) + c(Z')],

    with the invariance :math:`s = \frac{1}{Nd}\sum_i \|z_i - z'_i\|^2`, the variance
    :math:`v(Z) = \frac1d \sum_j \max\big(0, \gamma - \sqrt{\operatorname{Var}(Z_{:,j}) +
    \epsilon}\big)` and the covariance :math:`c(Z) = \frac1d \sum_{j\ne k} C(Z)_{jk}^2`, where
    :math:`C(Z)` is the covariance matrix of the batch (both with the :math:`N - 1` denominator).
    The paper's weights are :math:`\lambda = \mu = 25`, :math:`\nu = 1`, :math:`\gamma = 1`.

    Args:
        z1: embeddings of the first views ``(N, d)``, ``N >= 2``.
        z2: embeddings of the second views ``(N, d)``; row ``i`` pairs with ``z1[i]``.
        invariance: the weight :math:`\lambda \ge 0` of the invariance term.
        variance: the weight :math:`\mu \ge 0` of the variance term.
        covariance: the weight :math:`\nu \ge 0` of the covariance term.
        gamma: the target standard deviation :math:`\gamma > 0`.
        eps: :math:`\epsilon > 0`, which keeps the square root differentiable at zero variance.

    Returns:
        A :class:`VICRegTerms`: ``loss`` (to minimise) and the unweighted ``invariance``,
        ``variance`` (summed over both views) and ``covariance`` (summed over both views).
    """
    z1, z2 = _batch(z1, z2)
    return _vicreg(z1, z2, invariance, variance, covariance, gamma, eps)


def _cross_correlation(z1: torch.Tensor, z2: torch.Tensor, eps: float) -> torch.Tensor:
    n = z1.shape[0]
    a = (z1 - z1.mean(0)) / torch.sqrt(z1.var(0, unbiased=False) + eps)
    b = (z2 - z2.mean(0)) / torch.sqrt(z2.var(0, unbiased=False) + eps)
    return a.T @ b / n


@checked(eps=_EPS)
def cross_correlation(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""The cross-correlation matrix of two views' embeddings, standardised over the batch.

    .. math:: \mathcal C_{jk} = \frac1N \sum_i \hat z_{ij}\, \hat z'_{ik}, \qquad
              \hat z_{ij} = \frac{z_{ij} - \bar z_j}{\sqrt{\sigma_j^2 + \epsilon}},

    with the batch mean :math:`\bar z_j` and the (biased) batch variance :math:`\sigma_j^2`, as
    a batch normalisation without learned scale computes them. :math:`\mathcal C_{jj}` is the
    correlation of dimension :math:`j` between the views, in :math:`[-1, 1]`.

    Args:
        z1: ``(N, d)``, ``N >= 2``.
        z2: ``(N, d)``.
        eps: :math:`\epsilon > 0`.

    Returns:
        ``(d, d)``.
    """
    z1, z2 = _batch(z1, z2)
    return _cross_correlation(z1, z2, eps)


def _barlow_twins(z1, z2, off_diagonal: float, eps: float) -> torch.Tensor:
    c = _cross_correlation(z1, z2, eps)
    on = (1 - torch.diagonal(c)).pow(2).sum()
    off = (c - torch.diag(torch.diagonal(c))).pow(2).sum()
    return on + off_diagonal * off


@checked(off_diagonal=_WEIGHT, eps=_EPS)
def barlow_twins_loss(
    z1: torch.Tensor, z2: torch.Tensor, off_diagonal: float = 5e-3, eps: float = 1e-5
) -> torch.Tensor:
    r"""Barlow Twins' loss (Zbontar et al., 2021): the cross-correlation pushed to the identity.

    .. math:: \mathcal L = \sum_j (1 - \mathcal C_{jj})^2
              + \lambda_{\text{off}} \sum_{j \ne k} \mathcal C_{jk}^2,

    with :math:`\mathcal C` = :func:`cross_correlation`. The diagonal term makes each dimension
    invariant to the augmentation; the off-diagonal term makes the dimensions decorrelated
    (*redundancy reduction*). A collapsed embedding has no variance to standardise, so it cannot
    make :math:`\mathcal C_{jj} = 1`: collapse is not a minimum.

    Args:
        z1: embeddings of the first views ``(N, d)``, ``N >= 2``.
        z2: embeddings of the second views ``(N, d)``.
        off_diagonal: the weight :math:`\lambda_{\text{off}} \ge 0` (the paper's 0.005).
        eps: :math:`\epsilon > 0` in the standardisation.

    Returns:
        A scalar.
    """
    z1, z2 = _batch(z1, z2)
    return _barlow_twins(z1, z2, off_diagonal, eps)


def _negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -F.cosine_similarity(p, z, dim=1).mean()


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""The predictive loss of BYOL and SimSiam: minus the mean cosine of predictions and targets.

    .. math:: D(p, z) = -\frac1N \sum_i \frac{p_i^\top z_i}{\|p_i\|\,\|z_i\|} \in [-1, 1].

    BYOL's :math:`\|\bar p - \bar z\|^2 = 2 - 2\cos` is the same loss up to an affine map. The
    stop-gradient is not part of the loss: the method passes ``z.detach()`` (SimSiam) or a
    target network's output (BYOL), and removing it is the chapter's collapse control.

    Args:
        p: the predictor's outputs ``(N, d)``.
        z: the targets ``(N, d)``.

    Returns:
        A scalar.
    """
    p, z = _pair(p, z, ("p", "z"))
    return _negative_cosine(p, z)
