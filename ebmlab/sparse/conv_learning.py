r"""Learning convolution kernels: alternating codes and kernels, and the estimator.

``learn_conv_filters`` alternates ``conv_sparse_code`` with a kernel step (one Adam step, or
the exact step of ``conv_kernels.py``); ``ConvSparseCoding`` wraps it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..runtime import generator
from .conv import _conv_energy, conv_sparse_code
from .conv_kernels import _conv_filter_step

__all__ = ["learn_conv_filters", "ConvSparseCoding"]


def _check_conv_options(method, envelope, filter_steps) -> tuple[str, float | None, int]:
    if not isinstance(method, str):
        raise TypeError(f"method must be a str ('adam' or 'exact'); got {type(method).__name__}")
    if method not in ("adam", "exact"):
        raise ValueError(f"method must be 'adam' or 'exact'; got {method!r}")
    if envelope is not None:
        envelope = check_scalar(envelope, "envelope", low=0.0, low_open=True)
    return method, envelope, check_int(filter_steps, "filter_steps", low=1)


def learn_conv_filters(
    images: torch.Tensor,
    n_filters: int,
    size: int = 9,
    lam: float = 0.1,
    *,
    steps: int = 100,
    inner_steps: int = 5,
    lr: float = 0.02,
    seed: int | None = 0,
    method: str = "adam",
    envelope: float | None = None,
    filter_steps: int = 30,
) -> tuple[torch.Tensor, list[float]]:
    r"""Learn unit-norm convolution kernels by alternating minimisation.

    .. math:: \min_{K:\,\lVert K_i\rVert = 1}\ \min_Z\ \frac1N\Big(\tfrac12\Big\lVert Y -
              \sum_i K_i * Z_i\Big\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1\Big)

    The whole (small) batch of images is kept, and so are its codes: each step warm-starts
    :func:`conv_sparse_code` from the previous maps for ``inner_steps`` iterations, then
    updates the kernels.

    ``method="adam"`` takes one Adam step on the kernels and renormalises them.

    ``method="exact"`` minimises over the kernels with the codes fixed. The energy is then a
    quadratic in the stacked taps :math:`k` of all kernels (tap :math:`(i, u)`: kernel
    :math:`i`, position :math:`u`; :math:`r` runs over the pixels, :math:`c` is the centre tap),

    .. math:: \tfrac12 k^\top G k - b^\top k + \tfrac12\lVert Y\rVert^2,\qquad
              G_{iu,\,ju'} = \sum_{n,r} Z_{ni}[r + c - u]\,Z_{nj}[r + c - u'],\qquad
              b_{iu} = \sum_{n,r} Y_n[r]\,Z_{ni}[r + c - u] .

    :math:`G` holds the correlations of the maps with each other at lags below ``size``,
    :math:`b` those of the maps with the images; both come from FFTs (less the few terms that
    the image border cuts off), so a step costs little more than a few convolutions. The
    quadratic is minimised over the balls :math:`\lVert K_i\rVert \le 1` by projected FISTA
    (``filter_steps`` iterations, from the current kernels); then each kernel is scaled to
    unit norm, :math:`K_i / a_i` with :math:`a_i = \lVert K_i\rVert \le 1`, and its map by
    :math:`a_i`: the reconstruction is unchanged and the :math:`L_1` term can only shrink. New
    codes are kept only when they lower the energy, so with ``"exact"`` the recorded energies
    never increase.

    Args:
        images: ``(N, H, W)``, e.g. from :func:`whiten_images`.
        n_filters: number of kernels :math:`m`.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations.
        inner_steps: FISTA iterations on the codes per alternation.
        lr: Adam's learning rate on the kernels (``method="adam"`` only).
        seed: seed of the initial kernels.
        method: ``"adam"`` or ``"exact"`` (images at least ``size`` × ``size``).
        envelope: if given, the initial random kernels are multiplied by a Gaussian of this
            standard deviation (in pixels) centred on the kernel: they start as small centred
            spots. ``None`` keeps plain white noise.
        filter_steps: projected FISTA iterations per kernel step (``method="exact"`` only).

    Returns:
        ``(K, energies)``: the ``(m, size, size)`` kernels and the energy per image after each
        step.
    """
    Y = as_tensor(images, "images", ndim=3)
    m = check_int(n_filters, "n_filters", low=1)
    size = check_int(size, "size", low=1)
    if size % 2 == 0:
        raise ValueError(f"size must be odd; got {size}")
    lam = check_scalar(lam, "lam", low=0.0, low_open=True)
    steps = check_int(steps, "steps", low=1)
    inner_steps = check_int(inner_steps, "inner_steps", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    method, envelope, filter_steps = _check_conv_options(method, envelope, filter_steps)
    N, H, W = Y.shape
    if method == "exact" and min(H, W) < size:
        raise ValueError(
            f"images must be at least size x size ({size} x {size}) for method='exact'; "
            f"got {H} x {W}"
        )
    g = generator(check_seed(seed))
    K = torch.randn(m, size, size, generator=g, dtype=torch.float64)
    if envelope is not None:
        r = torch.arange(size, dtype=torch.float64) - size // 2
        K = K * torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * envelope**2))
    K = K.to(Y)
    K = K / K.flatten(1).norm(dim=1)[:, None, None]
    energies = []
    if method == "exact":
        Z = torch.zeros(N, m, H, W, dtype=Y.dtype, device=Y.device)
        energy = _conv_energy(K, Z, Y, lam)
        for _ in range(steps):
            Z_new = conv_sparse_code(K, Y, lam, inner_steps, z0=Z)
            e_new = _conv_energy(K, Z_new, Y, lam)
            if e_new <= energy:  # a few FISTA steps need not descend: keep the better codes
                Z = Z_new
            K, Z, _ = _conv_filter_step(K, Z, Y, filter_steps)
            energy = _conv_energy(K, Z, Y, lam)
            energies.append(energy / N)
        return K, energies
    K.requires_grad_(True)
    opt = torch.optim.Adam([K], lr=lr)
    Z = None
    for _ in range(steps):
        Z = conv_sparse_code(K.detach(), Y, lam, inner_steps, z0=Z)
        R = Y - F.conv_transpose2d(Z, K[:, None], padding=size // 2)[:, 0]
        loss = 0.5 * (R * R).sum() / N
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            K /= K.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
        energies.append(float(loss.detach()) + lam * float(Z.abs().sum()) / N)
    return K.detach(), energies


class ConvSparseCoding:
    r"""Convolutional sparse coding as an estimator: :math:`Y \approx \sum_i K_i * Z_i`.

    Wraps :func:`learn_conv_filters` and :func:`conv_sparse_code`.

    Args:
        n_filters: number of kernels.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations in :meth:`fit`.
        inner_steps: FISTA iterations per alternation.
        lr: Adam's learning rate on the kernels (``method="adam"``).
        seed: seed of the initial kernels.
        method: ``"adam"`` (one Adam step on the kernels per alternation) or ``"exact"`` (the
            kernels minimised with the codes fixed); see :func:`learn_conv_filters`.
        envelope: standard deviation, in pixels, of a Gaussian window on the initial random
            kernels (``None``: no window).
        filter_steps: projected FISTA iterations per kernel step (``method="exact"``).

    Attributes:
        filters_: the learned ``(n_filters, size, size)`` unit-norm kernels.
        energies_: energy per image after each alternation.
    """

    def __init__(
        self,
        n_filters: int = 8,
        size: int = 9,
        lam: float = 0.1,
        *,
        steps: int = 100,
        inner_steps: int = 5,
        lr: float = 0.02,
        seed: int | None = 0,
        method: str = "adam",
        envelope: float | None = None,
        filter_steps: int = 30,
    ) -> None:
        self.n_filters = check_int(n_filters, "n_filters", low=1)
        self.size = check_int(size, "size", low=1)
        if self.size % 2 == 0:
            raise ValueError(f"size must be odd; got {size}")
        self.lam = check_scalar(lam, "lam", low=0.0, low_open=True)
        self.steps = check_int(steps, "steps", low=1)
        self.inner_steps = check_int(inner_steps, "inner_steps", low=1)
        self.lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        self.seed = check_seed(seed)
        self.method, self.envelope, self.filter_steps = _check_conv_options(
            method, envelope, filter_steps
        )

    def fit(self, images: torch.Tensor) -> ConvSparseCoding:
        """Learn the kernels from images ``(N, H, W)``; returns ``self``."""
        self.filters_, self.energies_ = learn_conv_filters(
            images,
            self.n_filters,
            self.size,
            self.lam,
            steps=self.steps,
            inner_steps=self.inner_steps,
            lr=self.lr,
            seed=self.seed,
            method=self.method,
            envelope=self.envelope,
            filter_steps=self.filter_steps,
        )
        return self

    def transform(self, images: torch.Tensor, steps: int = 100) -> torch.Tensor:
        """Feature maps ``(N, m, H, W)`` of ``images`` under the learned kernels."""
        if not hasattr(self, "filters_"):
            raise RuntimeError("call fit before transform")
        return conv_sparse_code(self.filters_, images, self.lam, steps)
