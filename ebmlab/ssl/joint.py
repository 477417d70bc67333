r"""Joint-embedding methods without negatives: VICReg, Barlow Twins, BYOL, SimSiam, and I-JEPA.

Each is a :class:`~ebmlab.ssl.methods.ContrastiveMethod` (an ``encoder`` and a ``loss``), so
:func:`ebmlab.ssl.pretrain` trains them like SimCLR. Their ``loss`` is written in two steps:
``embeddings(x, generator)`` makes the tensors the loss compares (one row per image), and
``objective(*embeddings)`` turns them into the scalar. A loss on batch statistics (VICReg's
variances, Barlow Twins' correlations) is only right across processes when ``objective`` sees
every process's rows; :mod:`ebmlab.ssl.distributed` gathers them in between.

The collapse controls are flags of the same classes: ``VICReg(..., variance=0, covariance=0)``
keeps only the invariance term, and ``SimSiam(..., stop_gradient=False)`` removes the
stop-gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Boolean, Int, checked
from .augmentations import _erase
from .losses import _MOMENTUM, _momentum_update
from .methods import _AUGMENT, ContrastiveMethod, _check_encoder, _default_augment
from .networks import _projection_head
from .regularized import _GAMMA, _WEIGHT, _barlow_twins, _batch, _negative_cosine, _vicreg


class _Joint(ContrastiveMethod):
    """``loss = objective(*embeddings(x, generator))``, with a projection head ``head``."""

    def _setup(self, encoder, proj_dim: int, augment, hidden: int | None = None) -> None:
        self.encoder = _check_encoder(encoder)
        self.head = _projection_head(encoder.out_dim, proj_dim, hidden)
        self.augment = augment if augment is not None else _default_augment

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The projections :math:`z = p(h(x))` the loss is applied to."""
        return self.head(self.encoder(x))

    def embeddings(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """The projections of two random views of ``x``: ``(z1, z2)``, each ``(B, proj_dim)``."""
        v1, v2 = self._views(x, generator)
        return self.project(v1), self.project(v2)

    def objective(self, *embeddings: torch.Tensor) -> torch.Tensor:
        """The scalar loss of the tensors :meth:`embeddings` made."""
        raise NotImplementedError

    def loss(self, x, index, generator):
        """``objective(*embeddings(x, generator))``."""
        return self.objective(*self.embeddings(x, generator))


class VICReg(_Joint):
    r"""VICReg (Bardes, Ponce and LeCun, 2022): invariance, variance and covariance terms.

    .. math:: \mathcal L = \lambda\, s(Z, Z') + \mu\,[v(Z) + v(Z')] + \nu\,[c(Z) + c(Z')]

    on the projections (the *expander*) :math:`Z = p(h(t_1(x)))`, :math:`Z' = p(h(t_2(x)))` of
    a batch (:func:`~ebmlab.ssl.vicreg_loss`). ``variance=0, covariance=0`` keeps the invariance
    term alone: nothing then stops every image from mapping to one point.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        invariance: the weight :math:`\lambda \ge 0` (the paper's 25).
        variance: the weight :math:`\mu \ge 0` (25).
        covariance: the weight :math:`\nu \ge 0` (1).
        gamma: the target standard deviation :math:`\gamma > 0` of every dimension (1).
        augment: ``augment(x, generator)`` making one random view (default :func:`augment`).

    Raises:
        ValueError: when the three weights are all 0.
    """

    @checked(
        proj_dim=Int(low=1),
        invariance=_WEIGHT,
        variance=_WEIGHT,
        covariance=_WEIGHT,
        gamma=_GAMMA,
        augment=_AUGMENT,
    )
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 64,
        invariance: float = 25.0,
        variance: float = 25.0,
        covariance: float = 1.0,
        gamma: float = 1.0,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        if invariance + variance + covariance == 0:
            raise ValueError(
                "invariance, variance and covariance must not all be 0 (nothing to minimise)"
            )
        self._setup(encoder, proj_dim, augment)
        self.weights = (invariance, variance, covariance)
        self.gamma = gamma

    def terms(self, z1: torch.Tensor, z2: torch.Tensor):
        """The :class:`~ebmlab.ssl.VICRegTerms` of a batch of projections (weighted total first).

        Raises:
            ValueError: when ``z1`` and ``z2`` differ in shape or hold fewer than 2 rows.
        """
        return _vicreg(*_batch(z1, z2), *self.weights, self.gamma, 1e-4)

    def objective(self, z1, z2):
        """VICReg's weighted loss of the projections ``(z1, z2)``."""
        return self.terms(z1, z2).loss


class BarlowTwins(_Joint):
    r"""Barlow Twins (Zbontar et al., 2021): the views' cross-correlation pushed to the identity.

    .. math:: \mathcal L = \sum_j (1 - \mathcal C_{jj})^2
              + \lambda_{\text{off}} \sum_{j \ne k} \mathcal C_{jk}^2

    with :math:`\mathcal C` the cross-correlation of the batch-standardised projections of two
    views (:func:`~ebmlab.ssl.barlow_twins_loss`).

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        off_diagonal: the weight :math:`\lambda_{\text{off}} \ge 0` (the paper's 0.005 for
            8192 dimensions; about :math:`1/d` for a small :math:`d`).
        augment: ``augment(x, generator)`` (default :func:`augment`).
    """

    @checked(proj_dim=Int(low=1), off_diagonal=_WEIGHT, augment=_AUGMENT)
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 64,
        off_diagonal: float = 5e-3,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        self._setup(encoder, proj_dim, augment)
        self.off_diagonal = off_diagonal

    def objective(self, z1, z2):
        """Barlow Twins' loss of the projections ``(z1, z2)`` (at least 2 rows, same shape)."""
        return _barlow_twins(*_batch(z1, z2), self.off_diagonal, 1e-5)


def _predictor(dim: int, hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim)
    )


def _symmetric(p1, p2, t1, t2) -> torch.Tensor:
    """:math:`\\tfrac12[D(p_1, t_2) + D(p_2, t_1)]`, each prediction against the other view."""
    return 0.5 * (_negative_cosine(p1, t2) + _negative_cosine(p2, t1))


class SimSiam(_Joint):
    r"""SimSiam (Chen and He, 2021): a predictor and a stop-gradient, no negatives, no EMA.

    With :math:`z = p(h(t(x)))` and the predictor :math:`q`,

    .. math:: \mathcal L = \tfrac12 D\big(q(z_1), \operatorname{sg}(z_2)\big)
              + \tfrac12 D\big(q(z_2), \operatorname{sg}(z_1)\big),

    :math:`D` = :func:`~ebmlab.ssl.negative_cosine` and :math:`\operatorname{sg}` the
    stop-gradient. ``stop_gradient=False`` lets the gradient flow into the targets too; the
    loss is then minimised by a constant embedding (collapse).

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        pred_hidden: width of the predictor's hidden layer.
        stop_gradient: keep the stop-gradient on the targets.
        augment: ``augment(x, generator)`` (default :func:`augment`).
    """

    @checked(proj_dim=Int(low=1), pred_hidden=Int(low=1), stop_gradient=Boolean(), augment=_AUGMENT)
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 64,
        pred_hidden: int = 32,
        stop_gradient: bool = True,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        self._setup(encoder, proj_dim, augment)
        self.predictor = _predictor(proj_dim, pred_hidden)
        self.stop_gradient = stop_gradient

    def embeddings(self, x, generator):
        """``(q(z1), q(z2), z1, z2)``: the predictions, then the targets (detached by default)."""
        z1, z2 = super().embeddings(x, generator)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        if self.stop_gradient:
            z1, z2 = z1.detach(), z2.detach()
        return p1, p2, z1, z2

    def objective(self, p1, p2, z1, z2):
        """The symmetrised negative cosine of each prediction and the other view's target."""
        return _symmetric(p1, p2, z1, z2)


class BYOL(_Joint):
    r"""BYOL (Grill et al., 2020): an online network predicts a slowly moving target network.

    The online network (encoder :math:`h`, projector :math:`p`, predictor :math:`q`) predicts
    the target network's projection of the other view; the target :math:`(h', p')` gets no
    gradient and follows the online weights (:func:`~ebmlab.ssl.momentum_update`,
    :math:`\theta' \leftarrow m\,\theta' + (1-m)\,\theta` after each step):

    .. math:: \mathcal L = \tfrac12 D\big(q(p(h(t_1 x))), p'(h'(t_2 x))\big)
              + \tfrac12 D\big(q(p(h(t_2 x))), p'(h'(t_1 x))\big),

    with :math:`D` = :func:`~ebmlab.ssl.negative_cosine` (the paper's
    :math:`\|\bar q - \bar z'\|^2 = 2 - 2\cos`, up to an affine map).

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        pred_hidden: width of the predictor's hidden layer.
        momentum: :math:`m \in [0, 1]` of the target's update.
        augment: ``augment(x, generator)`` (default :func:`augment`).
    """

    @checked(proj_dim=Int(low=1), pred_hidden=Int(low=1), momentum=_MOMENTUM, augment=_AUGMENT)
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 64,
        pred_hidden: int = 32,
        momentum: float = 0.99,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        self._setup(encoder, proj_dim, augment)
        self.predictor = _predictor(proj_dim, pred_hidden)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.target_head = copy.deepcopy(self.head).requires_grad_(False)
        self.momentum = momentum

    def embeddings(self, x, generator):
        """``(q1, q2, t1, t2)``: the online predictions, then the target projections."""
        v1, v2 = self._views(x, generator)
        q1, q2 = self.predictor(self.project(v1)), self.predictor(self.project(v2))
        with torch.no_grad():
            t1 = self.target_head(self.target_encoder(v1))
            t2 = self.target_head(self.target_encoder(v2))
        return q1, q2, t1, t2

    def objective(self, q1, q2, t1, t2):
        """The symmetrised negative cosine of each prediction and the other view's target."""
        return _symmetric(q1, q2, t1, t2)

    @torch.no_grad()
    def after_step(self) -> None:
        """Move the target network towards the online one."""
        _momentum_update(self.target_encoder, self.encoder, self.momentum)
        _momentum_update(self.target_head, self.head, self.momentum)


class IJEPA(ContrastiveMethod):
    r"""I-JEPA in miniature (Assran et al., 2023): predict a hidden block's embedding.

    For each image a random ``block`` × ``block`` square is hidden. The *context*
    :math:`x_c` is the image with the square erased; the *target* :math:`x_t` keeps only the
    square (in place, zeros elsewhere). A predictor :math:`q` gets the context's embedding and
    the square's position :math:`u` (its top-left corner, divided by the image's sides) and
    predicts the target encoder's embedding of the square, layer-normalised:

    .. math:: \mathcal L = \frac1{Nd} \sum_i \big\|q\big(h(x_{c,i}), u_i\big)
              - \operatorname{LN}\big(h'(x_{t,i})\big)\big\|^2 .

    The target encoder :math:`h'` gets no gradient and follows :math:`h` by
    :func:`~ebmlab.ssl.momentum_update`. The images are not augmented by default: hiding
    is the only transformation, as in the paper.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        block: side of the hidden square in pixels (smaller than the images' sides).
        pred_hidden: width of the predictor's hidden layer.
        momentum: :math:`m \in [0, 1]` of the target's update.
        augment: ``augment(x, generator)`` applied before hiding (default: none).
    """

    @checked(block=Int(low=1), pred_hidden=Int(low=1), momentum=_MOMENTUM, augment=_AUGMENT)
    def __init__(
        self,
        encoder: nn.Module,
        block: int = 4,
        pred_hidden: int = 64,
        momentum: float = 0.99,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        d = encoder.out_dim
        self.predictor = nn.Sequential(
            nn.Linear(d + 2, pred_hidden),
            nn.BatchNorm1d(pred_hidden),
            nn.ReLU(),
            nn.Linear(pred_hidden, d),
        )
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.block = block
        self.momentum = momentum
        self.augment = augment

    def embeddings(self, x, generator):
        """``(prediction, target)``, each ``(B, out_dim)``, for random hidden squares of ``x``."""
        B, _, H, W = x.shape
        b = self.block
        if b >= min(H, W):
            raise ValueError(f"block must be smaller than the images' sides {H} x {W}; got {b}")
        if self.augment is not None:
            x = self.augment(x, generator)
        top = torch.randint(0, H - b + 1, (B,), generator=generator)
        left = torch.randint(0, W - b + 1, (B,), generator=generator)
        side = torch.full((B,), b, device=x.device)
        context = _erase(x, top.to(x.device), left.to(x.device), side, side)
        target = x - context  # the square alone, in place
        where = torch.stack([top / H, left / W], dim=1).to(x)
        pred = self.predictor(torch.cat([self.encoder(context), where], dim=1))
        with torch.no_grad():
            t = self.target_encoder(target)
            t = F.layer_norm(t, t.shape[1:])
        return pred, t

    def objective(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean squared error of the predicted embeddings."""
        return F.mse_loss(pred, target)

    def loss(self, x, index, generator):
        """``objective(*embeddings(x, generator))``."""
        return self.objective(*self.embeddings(x, generator))

    @torch.no_grad()
    def after_step(self) -> None:
        """Move the target encoder towards the context encoder."""
        _momentum_update(self.target_encoder, self.encoder, self.momentum)
