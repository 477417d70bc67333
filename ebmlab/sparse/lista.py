r"""LISTA: ISTA unrolled into a network and trained to predict the optimal codes.

The ``LISTA`` module, ``train_lista`` (back-propagation through the unrolled steps) and
``code_error``, the relative error of predicted codes.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import optim
from .._validation import Int, Options, Real, Seed, as_tensor, check_int, check_scalar, checked
from ..base import History
from ..runtime import generator
from .prox import _check_dictionary, _check_L, _check_signals

__all__ = ["LISTA", "train_lista", "code_error"]


class LISTA(nn.Module):
    r"""Learned ISTA (Gregor and LeCun, 2010): ISTA unrolled for ``layers`` steps, then trained.

    .. math:: z^{(0)} = 0,\qquad z^{(t+1)} = \operatorname{shrink}_\theta\big(W_e^\top y
              + S z^{(t)}\big),\quad t = 0, \dots, T-1 .

    Initialised from a dictionary :math:`W_d` with :math:`W_e = W_d / L`,
    :math:`S = I - W_d^\top W_d / L` and :math:`\theta = \lambda / L`, it computes exactly
    :math:`T` steps of :func:`ista` — note the **plus** sign before :math:`Sz` (ERRATA 4).
    Training (:func:`train_lista`) then adjusts :math:`W_e`, :math:`S` and the per-component
    thresholds :math:`\theta` by back-propagation through the :math:`T` steps, so that a few
    layers predict the codes that FISTA needs many iterations to find. The weights are shared
    by all steps: it is a recurrent network unrolled in time.

    Args:
        W: the decoder dictionary :math:`W_d`, ``(n, k)``; no all-zero column.
        lam: :math:`\lambda \ge 0`.
        layers: :math:`T \ge 1`.
        L: step parameter (default :func:`lipschitz` of ``W``).
    """

    def __init__(self, W: torch.Tensor, lam: float, layers: int = 16, L: float | None = None):
        super().__init__()
        W = _check_dictionary(W)
        lam = check_scalar(lam, "lam", low=0.0)
        self.layers = check_int(layers, "layers", low=1)
        L = _check_L(L, W)
        k = W.shape[1]
        self.We = nn.Parameter(W.detach().clone() / L)
        self.S = nn.Parameter(torch.eye(k, dtype=W.dtype, device=W.device) - W.T @ W / L)
        self.theta = nn.Parameter(torch.full((k,), lam / L, dtype=W.dtype, device=W.device))

    def forward(self, Y: torch.Tensor, layers: int | None = None) -> torch.Tensor:
        """Codes ``(B, k)`` of signals ``Y`` ``(B, n)`` (``layers`` overrides :math:`T`)."""
        T = self.layers if layers is None else check_int(layers, "layers", low=1)
        Y, single = _check_signals(Y, self.We.detach())
        Z = self._unroll(Y, T)
        return Z[0] if single else Z

    def _unroll(self, Y: torch.Tensor, T: int) -> torch.Tensor:
        # the T layers, on checked signals (B, n)
        c = Y @ self.We  # rows W_e^T y
        Z = optim.shrink(c, self.theta)  # the first step, from z = 0
        for _ in range(T - 1):
            Z = optim.shrink(torch.addmm(c, Z, self.S), self.theta)
        return Z


def code_error(z: torch.Tensor, z_star: torch.Tensor) -> float:
    r"""Relative squared error of codes, :math:`\sum_i\lVert z_i - z_i^\star\rVert^2 /
    \sum_i\lVert z_i^\star\rVert^2`.

    Args:
        z: predicted codes, ``(B, k)``.
        z_star: optimal codes, same shape.

    Returns:
        The error as a float.
    """
    z = as_tensor(z, "z", min_ndim=1)
    z_star = as_tensor(z_star, "z_star", min_ndim=1)
    if z.shape != z_star.shape:
        raise ValueError(
            f"z and z_star must have one shape; got {tuple(z.shape)} and {tuple(z_star.shape)}"
        )
    den = float((z_star.double() ** 2).sum())
    if den == 0:
        raise ValueError("z_star must not be all zeros (the error is relative to its norm)")
    return float(((z.double() - z_star.double()) ** 2).sum()) / den


@checked(
    epochs=Int(low=1),
    batch_size=Int(low=1),
    lr=Real(low=0.0, low_open=True),
    seed=Seed(),
    schedule=Options(("constant", "cosine")),
)
def train_lista(
    model: LISTA,
    Y: torch.Tensor,
    Z_star: torch.Tensor,
    *,
    epochs: int = 50,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int | None = 0,
    schedule: str = "constant",
) -> History:
    r"""Train a :class:`LISTA` to predict optimal codes, by back-propagation through time.

    .. math:: \min_{W_e, S, \theta}\ \frac1B\sum_i \big\lVert \mathrm{LISTA}(y_i) - z^\star_i
              \big\rVert^2

    with Adam; :math:`z^\star` are codes from a long :func:`fista` run. Deep unrolled networks
    train slowly at a fixed rate: ``schedule="cosine"`` lowers the learning rate from ``lr`` to
    0 along a half cosine over all the steps, which for a long run usually ends at a lower error
    (``python -m ebmlab.bench.sparse`` trains this way).

    Args:
        model: the network (trained in place).
        Y: training signals, ``(N, n)``.
        Z_star: their optimal codes, ``(N, k)``.
        epochs: passes over the data.
        batch_size: signals per step.
        lr: Adam's learning rate.
        seed: seed of the shuffling.
        schedule: ``"constant"`` or ``"cosine"`` (the learning rate decays to 0 over the run).

    Returns:
        A :class:`~ebmlab.base.History` whose curve ``loss`` is the mean training loss of each
        epoch.
    """
    if not isinstance(model, LISTA):
        raise TypeError(f"model must be a LISTA; got {type(model).__name__}")
    Y, _ = _check_signals(Y, model.We.detach(), name="Y")
    Z_star = as_tensor(Z_star, "Z_star", ndim=2)
    if Z_star.shape != (Y.shape[0], model.S.shape[0]):
        raise ValueError(
            f"Z_star must have shape ({Y.shape[0]}, {model.S.shape[0]}); got {tuple(Z_star.shape)}"
        )
    g = generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_steps = epochs * -(-Y.shape[0] // batch_size)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_steps) if schedule == "cosine" else None
    )
    Z_star = Z_star.to(Y)

    def step(idx: torch.Tensor) -> torch.Tensor:
        idx = idx.to(Y.device)
        return ((model._unroll(Y[idx], model.layers) - Z_star[idx]) ** 2).sum(dim=1).mean()

    epochs_of_batches = (optim.minibatches(Y.shape[0], batch_size, g) for _ in range(epochs))
    return optim.train(step, opt, epochs_of_batches, per="epoch", scheduler=sched)
