r"""Measuring collapse: per-dimension spread, the embedding spectrum, and curves during training.

An embedding has *collapsed* when it no longer varies with the image. It shows in three
measurements of a batch of embeddings :math:`Z \in \mathbb R^{N\times d}`: the standard
deviation of each dimension (:func:`dimension_std`; all near 0 under complete collapse), the
singular values of the centred matrix (:func:`spectrum`; a few large ones and a tail near 0
under *dimensional* collapse, where the embeddings span a subspace), and the effective rank
(:func:`~ebmlab.ssl.effective_rank`), one number from that spectrum. :class:`Monitor`, a
callback of :func:`~ebmlab.ssl.pretrain`, records the first and the last during training.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Int, IsCallable, as_tensor, checked
from ..base import History
from .evaluate import effective_rank


def _statistic_rows(z, name: str = "z") -> torch.Tensor:
    z = as_tensor(z, name, ndim=2)
    if z.shape[0] < 2:
        raise ValueError(f"{name} must hold at least 2 rows (a spread needs two); got {z.shape[0]}")
    return z


@torch.no_grad()
def dimension_std(z: torch.Tensor) -> torch.Tensor:
    r"""The standard deviation of every dimension over the batch (the :math:`N-1` denominator).

    .. math:: \sigma_j = \sqrt{\tfrac{1}{N-1}\textstyle\sum_i (z_{ij} - \bar z_j)^2}

    VICReg's variance term is a hinge on these numbers.

    Args:
        z: embeddings ``(N, d)``, ``N >= 2``.

    Returns:
        ``(d,)``.
    """
    return _statistic_rows(z).std(dim=0)


@torch.no_grad()
def spectrum(z: torch.Tensor) -> torch.Tensor:
    r"""The singular values of the centred embedding matrix, largest first.

    .. math:: \sigma_1 \ge \dots \ge \sigma_{\min(N, d)} \quad\text{of}\quad
              Z - \mathbf 1 \bar z^\top .

    Their squares divided by :math:`N - 1` are the variances along the principal directions.
    Under dimensional collapse the tail falls to (numerically) zero.

    Args:
        z: embeddings ``(N, d)``, ``N >= 2``.

    Returns:
        ``(min(N, d),)``, in ``z``'s dtype, on the CPU.
    """
    z = _statistic_rows(z)
    zd = z.double()
    return torch.linalg.svdvals(zd - zd.mean(0)).to(z.dtype).cpu()


class Monitor:
    r"""A callback of :func:`~ebmlab.ssl.pretrain` that measures collapse every ``every`` steps.

    At each recorded step it embeds the fixed images ``X`` with ``fn`` (no gradients, its
    network in evaluation mode, so training is not changed) and keeps the mean and the smallest
    per-dimension standard deviation (:func:`dimension_std`), the mean per-dimension standard
    deviation of the embeddings scaled to unit length (:math:`z/\|z\|`, SimSiam's measure:
    about :math:`1/\sqrt d` when they spread over the sphere, 0 when they all point one way)
    and the effective rank (:func:`~ebmlab.ssl.effective_rank`). Call it with ``0`` before
    training to record the start.

    Args:
        fn: the embedding to watch: a module, or a bound method of one (``method.project``).
        X: the images it is measured on ``(n, ...)``, ``n >= 2``.
        every: record every ``every`` steps (>= 1).
    """

    @checked(fn=IsCallable(), every=Int(low=1))
    def __init__(self, fn: Callable, X: torch.Tensor, every: int = 10):
        self.fn = fn
        X = as_tensor(X, "X", min_ndim=2)
        _statistic_rows(X.flatten(1), "X")
        self.X = X
        self.every = every
        self._rows: list[tuple[float, ...]] = []

    def __call__(self, step: int) -> None:
        """Record the measurements if ``step`` is a multiple of ``every``."""
        if step % self.every:
            return
        owner = self.fn if isinstance(self.fn, nn.Module) else getattr(self.fn, "__self__", None)
        was_training = isinstance(owner, nn.Module) and owner.training
        if was_training:
            owner.eval()
        with torch.no_grad():
            z = self.fn(self.X).reshape(self.X.shape[0], -1)
        if was_training:
            owner.train()
        std = z.std(dim=0)
        unit = F.normalize(z, dim=1).std(dim=0).mean()
        self._rows.append(
            (step, float(std.mean()), float(std.min()), float(unit), effective_rank(z))
        )

    @property
    def history(self) -> History:
        """The curves ``step``, ``std_mean``, ``std_min``, ``std_unit`` and ``effective_rank``."""
        names = ("step", "std_mean", "std_min", "std_unit", "effective_rank")
        cols = list(zip(*self._rows)) if self._rows else [[] for _ in names]
        return History({k: torch.tensor(v, dtype=torch.float64) for k, v in zip(names, cols)})
