r"""Generative Latent Optimization (chapter 3): a decoder and one free unit latent per sample.

:func:`project_sphere` and :func:`slerp` work on the unit sphere where GLO's latents live.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import Int, Real, Seed, as_tensor, checked
from ..base import Estimator
from ..optim import minibatches, train
from ..runtime import generator
from .inference import _squared_error

# --------------------------------------------------------------------------------------------
# Generative Latent Optimization (chapter 3)
# --------------------------------------------------------------------------------------------


def _project_sphere(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return z / z.norm(dim=-1, keepdim=True).clamp(min=eps)


@checked(eps=Real(low=0.0, low_open=True))
def project_sphere(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    r"""Project each row onto the unit sphere, :math:`z \mapsto z / \max(\lVert z\rVert, \epsilon)`.

    Args:
        z: latents, ``(..., d)``.
        eps: guard against division by zero.

    Returns:
        Same shape, unit rows.
    """
    return _project_sphere(as_tensor(z, "z", min_ndim=1), eps)


def _projector(z: torch.Tensor):
    """After each optimiser step, put every row of ``z`` back on the sphere (Adam's momentum
    moves the rows that were not in the batch too)."""

    def project() -> None:
        with torch.no_grad():
            z.copy_(_project_sphere(z))

    return project


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""Spherical interpolation between two unit vectors (along the great circle).

    .. math:: \operatorname{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\Omega)}{\sin\Omega}z_0 +
              \frac{\sin(t\Omega)}{\sin\Omega}z_1,\qquad \cos\Omega = z_0\cdot z_1

    (linear interpolation when the two are almost parallel). Every point stays on the sphere,
    where GLO's latents live.

    Args:
        z0: start, ``(d,)``, unit norm.
        z1: end, ``(d,)``, unit norm.
        t: positions in :math:`[0, 1]`, ``(T,)``.

    Returns:
        ``(T, d)``.
    """
    z0 = as_tensor(z0, "z0", ndim=1)
    z1 = as_tensor(z1, "z1", ndim=1)
    t = as_tensor(t, "t", ndim=1)
    if z0.shape != z1.shape:
        raise ValueError(f"z1 must have the shape of z0 {tuple(z0.shape)}; got {tuple(z1.shape)}")
    for name, v in (("z0", z0), ("z1", z1)):
        if abs(v.norm().item() - 1.0) > 1e-3:
            raise ValueError(f"{name} must have unit norm; got norm {v.norm().item():.4g}")
    cos = (z0 @ z1).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    t = t[:, None].to(z0.dtype)
    if omega.item() < 1e-4:
        return _project_sphere((1 - t) * z0 + t * z1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


class GLO(Estimator):
    r"""Generative Latent Optimization (Bojanowski et al., 2018): a decoder and one free latent
    per sample, learned together, with no encoder.

    .. math::

        \min_{\theta,\ z_1,\dots,z_N}\ \frac1N\sum_{i=1}^N \lVert y_i - g_\theta(z_i)\rVert^2
        \quad\text{subject to}\quad \lVert z_i\rVert = 1 .

    Each step moves the decoder's weights :math:`\theta` and the latents of the samples by
    gradient descent, then projects every latent back onto the unit sphere. The projection is
    what limits the information a latent can carry (otherwise nothing stops the codes from
    growing); it also makes a natural space to interpolate in (:func:`slerp`). A new sample is
    encoded by **inference**, :math:`\check z = \arg\min_{\lVert z\rVert=1} E(y, z)`
    (:meth:`encode`): this is a latent-variable EBM with
    :math:`E(y, z) = \lVert y - g_\theta(z)\rVert^2` and :math:`F_\infty(y) = \min_z E(y, z)`.

    Args:
        latent_dim: dimension :math:`d` of each latent.
        hidden: width of the decoder's two hidden layers.
        epochs: passes over the data.
        batch_size: samples per step.
        lr: Adam's learning rate for the decoder.
        lr_latent: Adam's learning rate for the latents (they see one gradient per epoch, so they
            get a larger one).
        seed: seed of the initial weights, latents and batch order.

    Attributes:
        decoder_: the trained decoder, an ``nn.Module`` mapping ``(B, d)`` to ``(B, D)``.
        codes_: the learned unit latents of the training samples, ``(N, d)``.
        n_features_in_: the data's dimension :math:`D`.
        n_iter_: the number of epochs run.
        history_: a :class:`~ebmlab.base.History` per epoch: ``loss``, the mean energy
            :math:`\frac1N\sum_i E(y_i, z_i)` over the epoch's batches.
    """

    _parameter_constraints = {
        "latent_dim": Int(low=1),
        "hidden": Int(low=1),
        "epochs": Int(low=1),
        "batch_size": Int(low=1),
        "lr": Real(low=0.0, low_open=True),
        "lr_latent": Real(low=0.0, low_open=True),
        "seed": Seed(),
    }

    def __init__(
        self,
        latent_dim: int = 16,
        hidden: int = 128,
        epochs: int = 60,
        batch_size: int = 128,
        lr: float = 3e-3,
        lr_latent: float = 3e-2,
        seed: int | None = 0,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_latent = lr_latent
        self.seed = seed

    def fit(self, Y: torch.Tensor) -> GLO:
        """Learn the decoder and the latents of ``Y`` ``(N, D)``; returns ``self``."""
        p = self._validate_params()
        Y = as_tensor(Y, "Y", ndim=2)
        N, D = Y.shape
        g = generator(p["seed"])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
            self.decoder_ = nn.Sequential(
                nn.Linear(p["latent_dim"], p["hidden"]),
                nn.ReLU(),
                nn.Linear(p["hidden"], p["hidden"]),
                nn.ReLU(),
                nn.Linear(p["hidden"], D),
                nn.Sigmoid(),
            ).to(Y.device, Y.dtype)
        codes = torch.randn(N, p["latent_dim"], generator=g).to(Y.device, Y.dtype)
        codes = nn.Parameter(_project_sphere(codes))
        opt = torch.optim.Adam(
            [
                {"params": self.decoder_.parameters(), "lr": p["lr"]},
                {"params": [codes], "lr": p["lr_latent"]},
            ]
        )

        def loss(idx: torch.Tensor):
            idx = idx.to(Y.device)
            e = _squared_error(Y[idx], self.decoder_(codes[idx]))
            # step on the mean; record it from the float64 sum, so an epoch's entry is sum(E) / N
            return e.mean(), {"loss": e.sum().item() / len(idx)}

        epochs = (minibatches(N, p["batch_size"], g) for _ in range(p["epochs"]))
        with torch.enable_grad():
            self.history_ = train(loss, opt, epochs, per="epoch", after_step=_projector(codes))
        self.decoder_.requires_grad_(False)
        self.codes_ = codes.detach()
        self.n_features_in_ = D
        self.n_iter_ = p["epochs"]
        return self

    def _check_Y(self, Y) -> torch.Tensor:
        Y = as_tensor(Y, "Y", ndim=2)
        if Y.shape[1] != self.n_features_in_:
            raise ValueError(
                f"Y must have {self.n_features_in_} columns, as the data of fit; "
                f"got shape {tuple(Y.shape)}"
            )
        return Y

    def _check_z(self, z) -> torch.Tensor:
        z = as_tensor(z, "z", ndim=2)
        if z.shape[1] != self.codes_.shape[1]:
            raise ValueError(
                f"z must have {self.codes_.shape[1]} columns; got shape {tuple(z.shape)}"
            )
        return z

    def _energy(self, Y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return _squared_error(Y, self.decoder_(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r""":math:`g_\theta(z)` for latents ``(B, d)``."""
        self._check_fitted()
        return self.decoder_(self._check_z(z))

    def energy(self, Y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`E(y, z) = \lVert y - g_\theta(z)\rVert^2`, one per row, ``(B,)`` (one ``z``
        for every row of ``Y``, or one row of either for all rows of the other)."""
        self._check_fitted()
        Y, z = self._check_Y(Y), self._check_z(z)
        if len(z) != len(Y) and 1 not in (len(z), len(Y)):
            raise ValueError(f"z must have one row per row of Y ({len(Y)}); got {len(z)}")
        return self._energy(Y, z)

    @checked(steps=Int(low=0), lr=Real(low=0.0, low_open=True), restarts=Int(low=1))
    def encode(
        self, Y: torch.Tensor, *, steps: int = 200, lr: float = 0.05, restarts: int = 4
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Infer latents of new samples: :math:`\check z = \arg\min_{\lVert z\rVert = 1} E(y, z)`.

        Projected gradient descent (Adam steps on :math:`z`, then back to the sphere) from
        ``restarts`` random starts per sample; the start with the lowest final energy is kept.
        The decoder does not change.

        Args:
            Y: samples, ``(B, D)``.
            steps: descent steps per start.
            lr: Adam's step size on :math:`z`.
            restarts: random starts per sample.

        Returns:
            ``(z, energy)``: ``(B, d)`` unit latents and their energies ``(B,)``.
        """
        self._check_fitted()
        Y = self._check_Y(Y)
        B = Y.shape[0]
        g = generator(self.seed)
        z0 = torch.randn(restarts * B, self.codes_.shape[1], generator=g).to(Y.device, Y.dtype)
        z = nn.Parameter(_project_sphere(z0))
        Yr = Y.repeat(restarts, 1)
        with torch.enable_grad():  # inference: only z moves, the decoder is frozen
            train(
                lambda _: self._energy(Yr, z).sum(),
                torch.optim.Adam([z], lr=lr),
                [range(steps)],
                after_step=_projector(z),
            )
        with torch.no_grad():
            e = self._energy(Yr, z).reshape(restarts, B)
        best = e.argmin(dim=0)
        idx = torch.arange(B, device=best.device)
        return z.detach().reshape(restarts, B, -1)[best, idx], e[best, idx]
