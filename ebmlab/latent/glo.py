r"""Generative Latent Optimization (chapter 3): a decoder and one free unit latent per sample.

:func:`project_sphere` and :func:`slerp` work on the unit sphere where GLO's latents live.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..runtime import generator
from .inference import squared_error

# --------------------------------------------------------------------------------------------
# Generative Latent Optimization (chapter 3)
# --------------------------------------------------------------------------------------------


def project_sphere(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    r"""Project each row onto the unit sphere, :math:`z \mapsto z / \max(\lVert z\rVert, \epsilon)`.

    Args:
        z: latents, ``(..., d)``.
        eps: guard against division by zero.

    Returns:
        Same shape, unit rows.
    """
    z = as_tensor(z, "z", min_ndim=1)
    eps = check_scalar(eps, "eps", low=0.0, low_open=True)
    return z / z.norm(dim=-1, keepdim=True).clamp(min=eps)


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
        return project_sphere((1 - t) * z0 + t * z1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


class GLO:
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
        loss_history_: mean energy of each epoch, ``(epochs,)``.
    """

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
        self.latent_dim = check_int(latent_dim, "latent_dim", low=1)
        self.hidden = check_int(hidden, "hidden", low=1)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        self.lr_latent = check_scalar(lr_latent, "lr_latent", low=0.0, low_open=True)
        self.seed = check_seed(seed)

    def fit(self, Y: torch.Tensor) -> GLO:
        """Learn the decoder and the latents of ``Y`` ``(N, D)``; returns ``self``."""
        Y = as_tensor(Y, "Y", ndim=2)
        N, D = Y.shape
        g = generator(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
            self.decoder_ = nn.Sequential(
                nn.Linear(self.latent_dim, self.hidden),
                nn.ReLU(),
                nn.Linear(self.hidden, self.hidden),
                nn.ReLU(),
                nn.Linear(self.hidden, D),
                nn.Sigmoid(),
            ).to(Y.device, Y.dtype)
        codes = project_sphere(torch.randn(N, self.latent_dim, generator=g).to(Y.device, Y.dtype))
        codes = nn.Parameter(codes)
        opt = torch.optim.Adam(
            [
                {"params": self.decoder_.parameters(), "lr": self.lr},
                {"params": [codes], "lr": self.lr_latent},
            ]
        )
        history = []
        with torch.enable_grad():
            for _ in range(self.epochs):
                order = torch.randperm(N, generator=g).to(Y.device)
                total = 0.0
                for start in range(0, N, self.batch_size):
                    idx = order[start : start + self.batch_size]
                    e = squared_error(Y[idx], self.decoder_(codes[idx]))
                    loss = e.mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    with torch.no_grad():  # Adam's momentum moves other rows too: project all
                        codes.copy_(project_sphere(codes))
                    total += e.sum().item()
                history.append(total / N)
        self.decoder_.requires_grad_(False)
        self.codes_ = codes.detach()
        self.loss_history_ = torch.tensor(history)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "decoder_"):
            raise RuntimeError("this GLO is not fitted yet; call fit(Y) first")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r""":math:`g_\theta(z)` for latents ``(B, d)``."""
        self._check_fitted()
        z = as_tensor(z, "z", ndim=2)
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have {self.latent_dim} columns; got shape {tuple(z.shape)}")
        return self.decoder_(z)

    def energy(self, Y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`E(y, z) = \lVert y - g_\theta(z)\rVert^2`, one per row, ``(B,)``."""
        return squared_error(as_tensor(Y, "Y", ndim=2), self.decode(z))

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
        Y = as_tensor(Y, "Y", ndim=2)
        steps = check_int(steps, "steps", low=0)
        lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        restarts = check_int(restarts, "restarts", low=1)
        B = Y.shape[0]
        g = generator(self.seed)
        z0 = torch.randn(restarts * B, self.latent_dim, generator=g).to(Y.device, Y.dtype)
        z = nn.Parameter(project_sphere(z0))
        Yr = Y.repeat(restarts, 1)
        opt = torch.optim.Adam([z], lr=lr)
        with torch.enable_grad():
            for _ in range(steps):
                loss = self.energy(Yr, z).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    z.copy_(project_sphere(z))
        with torch.no_grad():
            e = self.energy(Yr, z).reshape(restarts, B)
        best = e.argmin(dim=0)
        idx = torch.arange(B, device=best.device)
        return z.detach().reshape(restarts, B, -1)[best, idx], e[best, idx]
