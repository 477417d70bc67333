r"""A convolutional sparse auto-encoder: predictive sparse decomposition with convolutions.

Kavukcuoglu et al. (2010) put the encoder term of :mod:`~ebmlab.sparse.psd` into the energy of
convolutional sparse coding. For images :math:`Y`, feature maps :math:`Z_i` and kernels
:math:`K_i`,

.. math:: E(Y, Z) = \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
          + \tfrac\alpha2\lVert Z - \mathrm{Enc}(Y)\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1 ,

where the encoder is itself convolutional: a bank of filters :math:`E_i` correlated with the
image, then a shrinkage with one threshold per map,

.. math:: \mathrm{Enc}(Y)_i = \operatorname{shrink}_{\theta_i}(E_i \star Y) .

With :math:`E_i = K_i / L` and :math:`\theta_i = \lambda / L` it is one ISTA step from
:math:`Z = 0` (:func:`conv_sparse_code`'s first iteration), which is where :class:`ConvPSD`
starts. Inference adds the gradient :math:`\alpha(Z - \mathrm{Enc}(Y))` to FISTA's and takes
the step :math:`1/(L + \alpha)`; :func:`train_conv_psd` alternates it with a gradient step on
the kernels and the encoder, as :func:`train_psd` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import optim
from .._validation import Int, Real, as_tensor, check_scalar, checked
from ..base import History
from .conv import (
    _check_filters,
    _check_maps,
    _conv_lipschitz,
    _conv_sparse_code,
    _conv_sparse_energy,
    _reconstruct,
)
from .psd import _TRAIN_CONSTRAINTS, _train_in_energy

__all__ = ["ConvPSD", "conv_psd_energy", "conv_psd_codes", "train_conv_psd"]


class ConvPSD(nn.Module):
    r"""A convolutional sparse auto-encoder (Kavukcuoglu et al., 2010): decoder kernels and a
    convolutional encoder trained inside one energy,

    .. math:: E(Y, Z) = \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \tfrac\alpha2\lVert Z - \mathrm{Enc}(Y)\rVert^2
              + \lambda\sum_i\lVert Z_i\rVert_1,\qquad
              \mathrm{Enc}(Y)_i = \operatorname{shrink}_{\theta_i}(E_i \star Y) .

    The encoder starts as one ISTA step from zero under ``K``: :math:`E_i = K_i / L` and
    :math:`\theta_i = \lambda / L`, with :math:`L` the frequency bound of
    :func:`conv_sparse_code`. Calling the module gives the encoder's maps, the amortised
    inference; :func:`conv_psd_codes` minimises the energy over :math:`Z`;
    :func:`train_conv_psd` learns both parts. (The paper's encoder is
    :math:`g_i\tanh(E_i \star Y + b_i)`; the shrinkage gives exact zeros.)

    Args:
        K: the initial decoder kernels, ``(m, s, s)`` with ``s`` odd and no all-zero kernel.
            They are renormalised to unit norm (the copy is the module's; ``K`` itself is not
            changed).
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha > 0`, the weight of the encoder's term.

    Attributes:
        K: the decoder kernels, an ``nn.Parameter`` ``(m, s, s)`` with unit norms.
        E: the encoder's filters, an ``nn.Parameter`` ``(m, s, s)``.
        theta: the encoder's thresholds, an ``nn.Parameter`` ``(m,)``.
    """

    def __init__(self, K: torch.Tensor, lam: float, alpha: float = 1.0):
        super().__init__()
        K = _check_filters(K).detach()
        K = K / K.flatten(1).norm(dim=1)[:, None, None]
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.alpha = check_scalar(alpha, "alpha", low=0.0, low_open=True)
        L = _conv_lipschitz(K)
        self.K = nn.Parameter(K.clone())
        self.E = nn.Parameter(K / L)
        self.theta = nn.Parameter(
            torch.full((K.shape[0],), self.lam / L, dtype=K.dtype, device=K.device)
        )

    def forward(self, Y: torch.Tensor) -> torch.Tensor:
        """The encoder's maps :math:`\\mathrm{Enc}(Y)`, ``(N, m, H, W)``, of images ``Y``."""
        Y = as_tensor(Y, "Y", ndim=3)
        return self._encode(Y.to(self.E))

    def _encode(self, Y: torch.Tensor) -> torch.Tensor:
        pad = self.E.shape[1] // 2
        C = F.conv2d(Y[:, None], self.E[:, None], padding=pad)
        return optim.shrink(C, self.theta[None, :, None, None])


def _check_conv_psd(Y, K, Z_enc):
    # the shared checks of conv_psd_energy and conv_psd_codes
    K = _check_filters(K)
    Y = as_tensor(Y, "Y", ndim=3)
    shape = (Y.shape[0], K.shape[0], Y.shape[1], Y.shape[2])
    return Y, K, _check_maps(Z_enc, "Z_enc", shape).to(Y), shape


@checked(lam=Real(low=0.0), alpha=Real(low=0.0))
def conv_psd_energy(
    Y: torch.Tensor,
    K: torch.Tensor,
    Z: torch.Tensor,
    Z_enc: torch.Tensor,
    lam: float,
    alpha: float,
) -> torch.Tensor:
    r"""The energy of the convolutional sparse auto-encoder, for each image.

    .. math:: E(Y, Z) = \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \tfrac\alpha2\lVert Z - \bar Z\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1,
              \qquad \bar Z = \mathrm{Enc}(Y) .

    With :math:`\alpha = 0` it is :func:`conv_sparse_energy`.

    Args:
        Y: images, ``(N, H, W)``.
        K: kernels, ``(m, s, s)``, ``s`` odd.
        Z: feature maps, ``(N, m, H, W)``.
        Z_enc: the encoder's maps :math:`\bar Z`, shaped like ``Z``.
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha \ge 0`.

    Returns:
        ``(N,)`` energies.
    """
    Y, K, Z_enc, shape = _check_conv_psd(Y, K, Z_enc)
    Z = _check_maps(Z, "Z", shape).to(Y)
    prediction = 0.5 * alpha * ((Z - Z_enc) ** 2).flatten(1).sum(dim=1)
    return _conv_sparse_energy(Y, K, Z, lam) + prediction


@checked(lam=Real(low=0.0), alpha=Real(low=0.0, low_open=True), steps=Int(low=0))
def conv_psd_codes(
    Y: torch.Tensor,
    K: torch.Tensor,
    Z_enc: torch.Tensor,
    lam: float,
    alpha: float,
    steps: int = 100,
) -> torch.Tensor:
    r"""Inference in the convolutional sparse auto-encoder: the maps that minimise
    :func:`conv_psd_energy`.

    .. math:: \check Z = \arg\min_Z\ \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \tfrac\alpha2\lVert Z - \bar Z\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1

    FISTA with restart, as in :func:`conv_sparse_code`, with the gradient
    :math:`\alpha(Z - \bar Z)` added to the residual's, the step :math:`1/(L + \alpha)`, and
    the encoder's maps :math:`\bar Z` as the start.

    Args:
        Y: images, ``(N, H, W)``.
        K: kernels, ``(m, s, s)``, ``s`` odd.
        Z_enc: the encoder's maps :math:`\bar Z`, ``(N, m, H, W)``.
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha > 0`.
        steps: FISTA iterations.

    Returns:
        The maps ``Z``, ``(N, m, H, W)``.
    """
    Y, K, Z_enc, _ = _check_conv_psd(Y, K, Z_enc)
    return _conv_sparse_code(Y, K, lam, steps, Z_enc.clone(), anchor=Z_enc, alpha=alpha)


@checked(**_TRAIN_CONSTRAINTS)
def train_conv_psd(
    model: ConvPSD,
    Y: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 16,
    lr: float = 1e-3,
    inner_steps: int = 10,
    seed: int | None = 0,
) -> History:
    r"""Train a :class:`ConvPSD` in place, as :func:`train_psd` trains a :class:`PSD`.

    For each mini-batch of images: (a) :math:`\check Z` = ``inner_steps`` iterations of
    :func:`conv_psd_codes` from the encoder's maps :math:`\bar Z = \mathrm{Enc}(Y)`; (b) one
    Adam step on

    .. math:: \frac1B\sum_n \tfrac12\Big\lVert Y_n - \sum_i K_i * \check Z_{ni}\Big\rVert^2
              + \tfrac\alpha2\lVert \check Z_n - \mathrm{Enc}(Y_n)\rVert^2

    (the maps held fixed) with respect to the kernels, the encoder's filters and its
    thresholds; then every kernel is renormalised to unit norm.

    Args:
        model: the :class:`ConvPSD` (trained in place).
        Y: training images, ``(N, H, W)``.
        epochs: passes over the images.
        batch_size: images per step.
        lr: Adam's learning rate.
        inner_steps: FISTA iterations of the inference per batch.
        seed: seed of the shuffling.

    Returns:
        A :class:`~ebmlab.base.History` with the means over each epoch, per image, of
        ``energy`` (:func:`conv_psd_energy` at the inferred maps, before the step),
        ``reconstruction`` (its first term) and ``prediction`` (its second term).
    """
    if not isinstance(model, ConvPSD):
        raise TypeError(f"model must be a ConvPSD; got {type(model).__name__}")
    Y = as_tensor(Y, "Y", ndim=3).to(model.K)
    size = model.K.shape[1]
    if min(Y.shape[1], Y.shape[2]) < size:
        raise ValueError(
            f"Y's images must be at least the kernels' size ({size} x {size}); "
            f"got {Y.shape[1]} x {Y.shape[2]}"
        )

    def infer(Yb, Z_enc):
        K = model.K.detach()
        return _conv_sparse_code(
            Yb, K, model.lam, inner_steps, Z_enc.clone(), anchor=Z_enc, alpha=model.alpha
        )

    def renormalise() -> None:
        with torch.no_grad():
            model.K.div_(model.K.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None])

    return _train_in_energy(
        model,
        Y,
        encode=model._encode,
        infer=infer,
        decode=lambda Z: _reconstruct(Z, model.K),
        renormalise=renormalise,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
    )
