r"""Learning convolution kernels: alternating codes and kernels, and the estimator.

``learn_conv_filters`` alternates ``conv_sparse_code`` with a kernel step (one Adam step, or
the exact step of ``conv_kernels.py``); ``ConvSparseCoding`` wraps it.
"""

from __future__ import annotations

import torch

from .. import optim
from .._validation import Instance, Int, Real, Seed, as_tensor, checked
from ..base import Estimator, History
from ..runtime import generator
from .config import FilterConfig
from .conv import _conv_energy, _conv_sparse_code, _reconstruct, conv_sparse_code
from .conv_kernels import _conv_filter_step

__all__ = ["learn_conv_filters", "ConvSparseCoding"]

_CONSTRAINTS = {
    "n_filters": Int(low=1),
    "size": Int(low=1),
    "lam": Real(low=0.0, low_open=True),
    "steps": Int(low=1),
    "inner_steps": Int(low=1),
    "seed": Seed(),
    "config": Instance(FilterConfig, default=True),
}


@checked(**_CONSTRAINTS)
def learn_conv_filters(
    Y: torch.Tensor,
    n_filters: int,
    size: int = 9,
    lam: float = 0.1,
    *,
    steps: int = 100,
    inner_steps: int = 5,
    seed: int | None = 0,
    config: FilterConfig | None = None,
) -> tuple[torch.Tensor, History]:
    r"""Learn unit-norm convolution kernels by alternating minimisation.

    .. math:: \min_{K:\,\lVert K_i\rVert = 1}\ \min_Z\ \frac1N\Big(\tfrac12\Big\lVert Y -
              \sum_i K_i * Z_i\Big\rVert^2 + \lambda\sum_i\lVert Z_i\rVert_1\Big)

    The whole (small) batch of images is kept, and so are its codes: each step warm-starts
    :func:`conv_sparse_code` from the previous maps for ``inner_steps`` iterations, then
    updates the kernels.

    With ``FilterConfig(method="adam")`` (the default), each alternation takes one Adam step on the kernels and renormalises them.

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
        Y: images, ``(N, H, W)``, e.g. from :func:`whiten_images`.
        n_filters: number of kernels :math:`m`.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations.
        inner_steps: FISTA iterations on the codes per alternation.
        seed: seed of the initial kernels.
        config: a :class:`FilterConfig`: the kernel step's ``method`` (``"adam"`` or
            ``"exact"``, which needs images at least ``size`` × ``size``), Adam's ``lr``, the
            projected FISTA iterations ``filter_steps`` of ``"exact"``, and the ``envelope``
            of the initial kernels (the standard deviation, in pixels, of a centred Gaussian
            that multiplies the initial random kernels, so that they start as small centred
            spots; ``None`` keeps plain white noise).

    Returns:
        ``(K, history)``: the ``(m, size, size)`` kernels and a :class:`~ebmlab.base.History`
        whose curve ``energy`` is the energy per image after each step.
    """
    Y = as_tensor(Y, "Y", ndim=3)
    if size % 2 == 0:
        raise ValueError(f"size must be odd; got {size}")
    N, H, W = Y.shape
    if config.method == "exact" and min(H, W) < size:
        raise ValueError(
            f"Y must be at least size x size ({size} x {size}) for method='exact'; got {H} x {W}"
        )
    g = generator(seed)
    K = torch.randn(n_filters, size, size, generator=g, dtype=torch.float64)
    if config.envelope is not None:
        r = torch.arange(size, dtype=torch.float64) - size // 2
        K = K * torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * config.envelope**2))
    K = K.to(Y)
    K = K / K.flatten(1).norm(dim=1)[:, None, None]
    if config.method == "exact":
        return _learn_exact(Y, K, lam, steps, inner_steps, config.filter_steps)
    return _learn_adam(Y, K, lam, steps, inner_steps, config.lr)


def _learn_exact(Y, K, lam, steps, inner_steps, filter_steps):
    # alternate FISTA on the codes (kept only when they lower the energy) and the exact step
    N, m = Y.shape[0], K.shape[0]
    Z = torch.zeros(N, m, Y.shape[1], Y.shape[2], dtype=Y.dtype, device=Y.device)
    energy = _conv_energy(Y, K, Z, lam)
    energies = []
    for _ in range(steps):
        Z_new = _conv_sparse_code(Y, K, lam, inner_steps, Z)
        e_new = _conv_energy(Y, K, Z_new, lam)
        if e_new <= energy:  # a few FISTA steps need not descend: keep the better codes
            Z = Z_new
        K, Z, _ = _conv_filter_step(Y, K, Z, filter_steps)
        energy = _conv_energy(Y, K, Z, lam)
        energies.append(energy / N)
    return K, History({"energy": torch.tensor(energies, dtype=torch.float64)})


def _learn_adam(Y, K, lam, steps, inner_steps, lr):
    # one Adam step on the kernels per alternation, from codes warm-started at the last ones
    N = Y.shape[0]
    K.requires_grad_(True)
    codes = [None]

    def step(_):
        Z = _conv_sparse_code(Y, K.detach(), lam, inner_steps, codes[0])
        codes[0] = Z
        R = Y - _reconstruct(Z, K)
        loss = 0.5 * (R * R).sum() / N
        return loss, {"energy": float(loss.detach()) + lam * float(Z.abs().sum()) / N}

    def unit_norm():
        with torch.no_grad():
            K.div_(K.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None])

    opt = torch.optim.Adam([K], lr=lr)
    history = optim.train(step, opt, [range(steps)], after_step=unit_norm)
    return K.detach(), history


class ConvSparseCoding(Estimator):
    r"""Convolutional sparse coding as an estimator: :math:`Y \approx \sum_i K_i * Z_i`.

    Wraps :func:`learn_conv_filters` and :func:`conv_sparse_code`.

    Args:
        n_filters: number of kernels.
        size: kernel size (odd).
        lam: :math:`\lambda > 0`.
        steps: alternations in :meth:`fit`.
        inner_steps: FISTA iterations per alternation.
        seed: seed of the initial kernels.
        config: a :class:`FilterConfig` (the kernel step: ``"adam"``, one Adam step on the
            kernels per alternation, or ``"exact"``, the kernels minimised with the codes fixed;
            see :func:`learn_conv_filters`).

    Attributes:
        filters_: the learned ``(n_filters, size, size)`` unit-norm kernels.
        n_iter_: the alternations run.
        history_: a :class:`~ebmlab.base.History`; its curve ``energy`` is the energy per image
            after each alternation.
    """

    _parameter_constraints = _CONSTRAINTS

    def __init__(
        self,
        n_filters: int = 8,
        size: int = 9,
        lam: float = 0.1,
        *,
        steps: int = 100,
        inner_steps: int = 5,
        seed: int | None = 0,
        config: FilterConfig | None = None,
    ) -> None:
        self.n_filters = n_filters
        self.size = size
        self.lam = lam
        self.steps = steps
        self.inner_steps = inner_steps
        self.seed = seed
        self.config = config

    def fit(self, Y: torch.Tensor) -> ConvSparseCoding:
        """Learn the kernels from images ``Y`` ``(N, H, W)``; returns ``self``."""
        p = self._validate_params()
        self.filters_, self.history_ = learn_conv_filters.__wrapped__(Y, **p)
        self.n_iter_ = p["steps"]
        return self

    def transform(self, Y: torch.Tensor, steps: int = 100) -> torch.Tensor:
        """Feature maps ``(N, m, H, W)`` of images ``Y`` under the learned kernels."""
        self._check_fitted()
        return conv_sparse_code(Y, self.filters_, self.lam, steps)
