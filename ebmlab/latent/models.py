r"""Latent-variable models and how they learn (chapters 1 and 3).

The ellipse decoder :math:`g(z) = R_\theta(w_1\cos z, w_2\sin z)` (a function and a learnable
module), :class:`MultiHypothesis` (a conditional model whose discrete latent picks one of
:math:`K` predictions) and :func:`fit_free_energy`, learning by minimising the free energy of
the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from .._validation import (
    Boolean,
    Int,
    IsCallable,
    Options,
    Real,
    Seed,
    as_tensor,
    check_scalar,
    checked,
)
from ..base import History
from ..energy import free_energy
from ..optim import train
from .inference import _squared_error

# --------------------------------------------------------------------------------------------
# The ellipse (chapter 3)
# --------------------------------------------------------------------------------------------


def _param(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = as_tensor(value, name)
        if t.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got shape {tuple(t.shape)}")
        return t.reshape(())
    return torch.tensor(check_scalar(value, name))


def _ellipse(z: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, angle: torch.Tensor):
    w1, w2, th = (t.to(z.device, z.dtype) for t in (w1, w2, angle))
    u, v = w1 * torch.cos(z), w2 * torch.sin(z)
    c, s = torch.cos(th), torch.sin(th)
    return torch.stack([c * u - s * v, s * u + c * v], dim=-1)


def ellipse_decoder(
    z: torch.Tensor,
    w1: float | torch.Tensor,
    w2: float | torch.Tensor,
    angle: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    r"""The ellipse decoder :math:`g(z) = R_\theta\,(w_1\cos z,\ w_2\sin z)`.

    .. math::

        g(z) = \begin{pmatrix}\cos\theta & -\sin\theta\\ \sin\theta & \cos\theta\end{pmatrix}
               \begin{pmatrix} w_1 \cos z \\ w_2 \sin z\end{pmatrix}

    As the angle :math:`z` runs over :math:`[0, 2\pi)`, :math:`g(z)` traces an ellipse with
    semi-axes :math:`|w_1|` and :math:`|w_2|`, turned by :math:`\theta`. The parameters may be
    tensors that require gradients (that is how :class:`EllipseDecoder` learns them).

    Args:
        z: latent angles, any shape.
        w1: first semi-axis (scalar).
        w2: second semi-axis (scalar).
        angle: rotation :math:`\theta` in radians (scalar).

    Returns:
        ``z.shape + (2,)``.
    """
    z = as_tensor(z, "z", allow_empty=True)
    return _ellipse(z, _param(w1, "w1"), _param(w2, "w2"), _param(angle, "angle"))


class EllipseDecoder(nn.Module):
    r"""A learnable ellipse :math:`g(z) = R_\theta(w_1\cos z, w_2\sin z)` (see :func:`ellipse_decoder`).

    Args:
        w1: initial first semi-axis.
        w2: initial second semi-axis.
        angle: initial rotation (radians).
        learn_angle: learn :math:`\theta` too (otherwise it stays fixed).
    """

    @checked(w1=Real(), w2=Real(), angle=Real(), learn_angle=Boolean())
    def __init__(
        self, w1: float = 1.0, w2: float = 1.0, angle: float = 0.0, learn_angle: bool = True
    ) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.tensor(w1))
        self.w2 = nn.Parameter(torch.tensor(w2))
        angle_t = torch.tensor(angle)
        if learn_angle:
            self.angle = nn.Parameter(angle_t)
        else:
            self.register_buffer("angle", angle_t)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """:math:`g(z)`, shape ``z.shape + (2,)``."""
        return _ellipse(as_tensor(z, "z", allow_empty=True), self.w1, self.w2, self.angle)

    def canonical(self) -> tuple[float, float, float]:
        r"""The learned ellipse as ``(a, b, theta)`` with :math:`a \ge b > 0` and
        :math:`\theta \in [0, \pi)` the direction of the long axis.

        The parameters are not identifiable: :math:`(w_1, w_2, \theta)`, :math:`(-w_1, w_2, \theta)`
        and :math:`(w_2, w_1, \theta + \pi/2)` draw the same ellipse. This is the one description
        they share.
        """
        a, b, th = abs(self.w1.item()), abs(self.w2.item()), self.angle.item()
        if b > a:
            a, b, th = b, a, th + math.pi / 2
        return a, b, th % math.pi


# --------------------------------------------------------------------------------------------
# A conditional model with a discrete latent (chapter 1)
# --------------------------------------------------------------------------------------------


class MultiHypothesis(nn.Module):
    r"""A conditional latent-variable EBM whose latent picks one of :math:`K` predictions.

    A network maps :math:`x` to :math:`K` predictions :math:`g_1(x), \dots, g_K(x)`; the latent
    :math:`z \in \{1, \dots, K\}` says which one is meant:

    .. math::

        E(x, y, z) = \lVert y - g_z(x)\rVert^2,\qquad
        F_\infty(x, y) = \min_{z} E(x, y, z).

    Trained by minimising :math:`F_\infty` on the samples (:func:`fit_free_energy`), each
    prediction only has to explain the samples it is closest to, so the :math:`K` outputs settle
    on distinct modes instead of their average.

    Args:
        in_dim: dimension of :math:`x`.
        out_dim: dimension of :math:`y`.
        k: number of values of the latent (predictions).
        hidden: width of the two hidden layers.
        out_activation: ``"identity"`` or ``"sigmoid"`` (for images in :math:`[0, 1]`).
        seed: seed of the initial weights (``None``: torch's global stream).
    """

    @checked(
        in_dim=Int(low=1),
        out_dim=Int(low=1),
        k=Int(low=1),
        hidden=Int(low=1),
        out_activation=Options(("identity", "sigmoid")),
        seed=Seed(),
    )
    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        k: int = 2,
        hidden: int = 64,
        out_activation: str = "identity",
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.k = in_dim, out_dim, k
        self.out_activation = out_activation
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(self.in_dim, hidden),
                nn.Tanh(),
                nn.Linear(hidden, hidden),
                nn.Tanh(),
                nn.Linear(hidden, self.k * self.out_dim),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The :math:`K` predictions, ``(B, K, out_dim)``."""
        x = as_tensor(x, "x", ndim=2)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"x must have {self.in_dim} columns; got shape {tuple(x.shape)}")
        out = self.net(x).reshape(x.shape[0], self.k, self.out_dim)
        return torch.sigmoid(out) if self.out_activation == "sigmoid" else out

    def energies(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r""":math:`E(x_b, y_b, z)` for every :math:`z`, ``(B, K)``."""
        y = as_tensor(y, "y", ndim=2)
        pred = self(x)
        if y.shape != (pred.shape[0], self.out_dim):
            raise ValueError(
                f"y must have shape ({pred.shape[0]}, {self.out_dim}); got {tuple(y.shape)}"
            )
        return _squared_error(y[:, None, :], pred)

    @checked(beta=Real(low=0.0, low_open=True, allow_inf=True))
    def free_energy(self, x: torch.Tensor, y: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
        r""":math:`F_\beta(x, y)` over the :math:`K` latents (normalised form; ``inf``: the min)."""
        return free_energy.__wrapped__(self.energies(x, y), beta, dim=1)  # a table made here


@checked(
    energies=IsCallable(),
    beta=Real(low=0.0, low_open=True, allow_inf=True),
    steps=Int(low=1),
    lr=Real(low=0.0, low_open=True),
)
def fit_free_energy(
    energies: Callable[[], torch.Tensor],
    parameters: Iterable[torch.Tensor],
    *,
    beta: float = math.inf,
    steps: int = 300,
    lr: float = 0.02,
) -> History:
    r"""Learn by minimising the mean free energy of the training samples (Adam, full batch).

    .. math:: \mathcal L(w) = \frac1B\sum_{b=1}^B F_\beta(y_b; w),\qquad
              F_\infty(y_b; w) = \min_z E(y_b, z; w)

    With :math:`\beta = \infty` the gradient flows only through the best latent of each sample
    (the envelope theorem: :math:`\nabla_w \min_z E = \nabla_w E(y, \check z)`); with a finite
    :math:`\beta` every latent contributes, weighted by its Gibbs probability. Nothing pushes the
    energy *up* anywhere: this works only because the decoder's capacity is limited (an
    architectural method, chapter 4).

    Args:
        energies: called once per step; returns the ``(B, N)`` table :math:`E(y_b, z_n)` for the
            current parameters (e.g. ``lambda: latent_energies(y, decoder, z_grid)``).
        parameters: the tensors to learn.
        beta: inverse temperature of the free energy (``math.inf`` for the minimum).
        steps: Adam steps.
        lr: Adam's learning rate.

    Returns:
        :class:`~ebmlab.base.History`: ``loss``, the loss before each step, ``(steps,)``.
    """
    params = list(parameters)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("parameters must be a non-empty list of tensors that require grad")

    def loss(_) -> torch.Tensor:
        e = energies()  # the caller's table: checked at every step, by free_energy too
        if not isinstance(e, torch.Tensor) or e.ndim != 2:
            raise ValueError("energies must return a (B, N) tensor of energies")
        return free_energy(e, beta, dim=1).mean()

    with torch.enable_grad():
        return train(loss, torch.optim.Adam(params, lr=lr), [range(steps)])
