r"""Convolutional sparse coding: the decoder :math:`\sum_i K_i * Z_i` and its codes.

``conv_reconstruct`` (the decoder), ``conv_sparse_code`` (FISTA with restart on the feature
maps) and the energy they minimise. Learning the kernels is in ``conv_learning.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import optim
from .._validation import Int, Real, as_tensor, check_scalar, checked

__all__ = ["conv_reconstruct", "conv_sparse_energy", "conv_sparse_code"]


def _check_filters(K, name: str = "K") -> torch.Tensor:
    K = as_tensor(K, name, ndim=3)
    if K.shape[1] != K.shape[2] or K.shape[1] % 2 == 0:
        raise ValueError(f"{name} must be (m, s, s) with an odd size s; got {tuple(K.shape)}")
    if bool((K.flatten(1).norm(dim=1) == 0).any()):
        raise ValueError(f"{name} has an all-zero filter; every filter needs a non-zero norm")
    return K


def conv_reconstruct(Z: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    r"""The convolutional decoder: :math:`\hat Y = \sum_i K_i * Z_i`.

    Each feature map :math:`Z_i` is convolved with its kernel :math:`K_i` (zero padding, the
    output has the size of the maps) and the results are summed — a dictionary whose atoms are
    the kernels at every position.

    Args:
        Z: feature maps, ``(N, m, H, W)``.
        K: kernels, ``(m, s, s)`` with ``s`` odd.

    Returns:
        ``(N, H, W)`` reconstructions.
    """
    K = _check_filters(K)
    Z = as_tensor(Z, "Z", ndim=4)
    if Z.shape[1] != K.shape[0]:
        raise ValueError(f"Z must have {K.shape[0]} maps (one per kernel); got {Z.shape[1]}")
    return _reconstruct(Z, K)


def _reconstruct(Z: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    # the decoder on checked tensors: conv_transpose2d is the sum of the kernels' copies
    return F.conv_transpose2d(Z, K[:, None].to(Z), padding=K.shape[1] // 2)[:, 0]


@checked(lam=Real(low=0.0))
def conv_sparse_energy(
    Y: torch.Tensor, K: torch.Tensor, Z: torch.Tensor, lam: float
) -> torch.Tensor:
    r"""The convolutional sparse-coding energy of each image and its maps,

    .. math:: E(Y, Z) = \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \lambda\sum_i\lVert Z_i\rVert_1 ,

    the energy that :func:`conv_sparse_code` minimises.

    Args:
        Y: images, ``(N, H, W)``.
        K: kernels, ``(m, s, s)``, ``s`` odd.
        Z: feature maps, ``(N, m, H, W)``.
        lam: :math:`\lambda \ge 0`.

    Returns:
        ``(N,)`` energies.
    """
    K = _check_filters(K)
    Y = as_tensor(Y, "Y", ndim=3)
    Z = _check_maps(Z, "Z", (Y.shape[0], K.shape[0], Y.shape[1], Y.shape[2])).to(Y)
    return _conv_sparse_energy(Y, K, Z, lam)


def _check_maps(Z, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    # feature maps of the given (images, kernels, H, W) shape
    Z = as_tensor(Z, name, ndim=4)
    if tuple(Z.shape) != shape:
        raise ValueError(
            f"{name} must have shape {shape} (images, kernels, H, W); got {tuple(Z.shape)}"
        )
    return Z


def _conv_sparse_energy(Y, K, Z, lam) -> torch.Tensor:
    # conv_sparse_energy on checked tensors
    R = Y - _reconstruct(Z, K)
    return 0.5 * (R * R).flatten(1).sum(dim=1) + lam * Z.abs().flatten(1).sum(dim=1)


def _conv_lipschitz(K: torch.Tensor) -> float:
    # ||sum_i K_i * Z_i||^2 <= max_f sum_i |K_i^(f)|^2 ||Z||^2: the largest frequency response,
    # sampled finely (8x oversampled) with a small margin for the samples between
    s = K.shape[1]
    spec = torch.fft.fft2(K.double(), s=(8 * s, 8 * s)).abs() ** 2
    return 1.02 * float(spec.sum(dim=0).max())


@checked(lam=Real(low=0.0), steps=Int(low=0))
def conv_sparse_code(
    Y: torch.Tensor,
    K: torch.Tensor,
    lam: float,
    steps: int = 100,
    *,
    z0: torch.Tensor | None = None,
    L: float | None = None,
) -> torch.Tensor:
    r"""Convolutional sparse codes by FISTA with restart.

    .. math:: \min_Z\ \tfrac12\Big\lVert Y - \sum_i K_i * Z_i\Big\rVert^2
              + \lambda\sum_i\lVert Z_i\rVert_1

    The gradient of the quadratic term is the correlation of the residual with each kernel
    (the adjoint of :func:`conv_reconstruct`); :math:`L` is bounded by the largest
    :math:`\sum_i|\hat K_i(f)|^2` over frequencies.

    Args:
        Y: images, ``(N, H, W)``.
        K: kernels, ``(m, s, s)``, ``s`` odd.
        lam: :math:`\lambda \ge 0`.
        steps: FISTA iterations.
        z0: starting maps ``(N, m, H, W)`` (default zeros): pass the previous codes to warm-start.
        L: step parameter (default: the frequency bound).

    Returns:
        The maps ``Z``, ``(N, m, H, W)``.
    """
    K = _check_filters(K)
    Y = as_tensor(Y, "Y", ndim=3)
    L = None if L is None else check_scalar(L, "L", low=0.0, low_open=True)
    shape = (Y.shape[0], K.shape[0], Y.shape[1], Y.shape[2])
    Z = None if z0 is None else _check_maps(z0, "z0", shape).to(Y)
    return _conv_sparse_code(Y, K, lam, steps, Z, L)


def _conv_sparse_code(Y, K, lam, steps, Z=None, L=None, anchor=None, alpha=0.0) -> torch.Tensor:
    # the core of conv_sparse_code, on checked tensors (Z: the start, default zeros). With an
    # anchor, the energy gains (alpha / 2) ||Z - anchor||^2 (the convolutional PSD's
    # prediction term): its gradient joins the residual's and the step becomes 1 / (L + alpha)
    L = (_conv_lipschitz(K) if L is None else L) + (alpha if anchor is not None else 0.0)
    m, s = K.shape[0], K.shape[1]
    if Z is None:
        Z = torch.zeros((Y.shape[0], m, Y.shape[1], Y.shape[2]), dtype=Y.dtype, device=Y.device)
    Kc = K[:, None].to(Y)
    thr = lam / L
    X, t = Z.clone(), 1.0
    for _ in range(steps):
        R = F.conv_transpose2d(X, Kc, padding=s // 2) - Y[:, None]
        grad = F.conv2d(R, Kc, padding=s // 2)
        if anchor is not None:
            grad = grad + alpha * (X - anchor)
        Z_new = optim.shrink(X - grad / L, thr)
        D = Z_new - Z
        if float(((X - Z_new) * D).sum()) > 0:  # restart the momentum
            t = 1.0
        t, weight = optim.fista_momentum(t)
        X = Z_new + weight * D
        Z = Z_new
    return Z


def _conv_energy(Y: torch.Tensor, K: torch.Tensor, Z: torch.Tensor, lam: float) -> float:
    # the energy of conv_sparse_code, summed over the images, accumulated in float64
    R = (Y - _reconstruct(Z, K)).double()
    return 0.5 * float((R * R).sum()) + lam * float(Z.double().abs().sum())
