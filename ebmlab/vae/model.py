"""The VAE module (MLP encoder and decoder) and its training loop."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..runtime import generator
from .losses import _LIKELIHOODS, VAELoss, _loss, kl_normal, reparameterize, vae_loss

# --------------------------------------------------------------------------------------------
# The module and its training loop
# --------------------------------------------------------------------------------------------


class VAEOutput(NamedTuple):
    """What :meth:`VAE.forward` returns."""

    recon: torch.Tensor
    """The decoder's output for the sampled codes, logits (Bernoulli) or means (Gaussian)."""
    mu: torch.Tensor
    """The centres :math:`\\bar z` of the fuzzy balls."""
    logvar: torch.Tensor
    """Their log-variances :math:`\\log\\sigma^2`."""
    z: torch.Tensor
    """The sampled codes :math:`\\bar z + \\sigma\\odot\\varepsilon`."""


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    r"""A variational autoencoder with MLP encoder and decoder.

    The encoder maps :math:`x` to the centre and log-variance of a fuzzy ball,
    :math:`(\bar z, \log\sigma^2) = \operatorname{Enc}(x)`; a code is drawn from it,
    :math:`z = \bar z + \sigma\odot\varepsilon`; the decoder maps :math:`z` to the parameters
    of :math:`p(x\mid z)`: Bernoulli logits, or the mean of a Gaussian of fixed ``sigma``.

    Args:
        in_dim: the data dimension :math:`D`.
        latent_dim: the code dimension :math:`d`.
        hidden: width of the single hidden layer of the encoder and of the decoder.
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        sigma: standard deviation of the Gaussian likelihood.
        seed: seed for the initial weights (``None``: torch's global stream).
    """

    def __init__(
        self,
        in_dim: int = 64,
        latent_dim: int = 2,
        hidden: int = 128,
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", low=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", low=1)
        self.hidden = check_int(hidden, "hidden", low=1)
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {_LIKELIHOODS}; got {likelihood!r}")
        self.likelihood = likelihood
        self.sigma = check_scalar(sigma, "sigma", low=0.0, low_open=True)
        seed = check_seed(seed)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = _mlp([self.in_dim, self.hidden, 2 * self.latent_dim])
            self.decoder = _mlp([self.latent_dim, self.hidden, self.in_dim])

    def _param(self) -> torch.Tensor:
        return next(self.parameters())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fuzzy ball of each row of ``x``: ``(mu, logvar)``, each ``(B, latent_dim)``."""
        p = self._param()
        x = as_tensor(x, "x", ndim=2).to(p.device, p.dtype)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"x must have {self.in_dim} features; got shape {tuple(x.shape)}")
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output for codes ``z`` ``(B, latent_dim)``: logits or Gaussian means."""
        p = self._param()
        z = as_tensor(z, "z", ndim=2).to(p.device, p.dtype)
        if z.shape[1] != self.latent_dim:
            raise ValueError(
                f"z must have latent_dim = {self.latent_dim} columns; got shape {tuple(z.shape)}"
            )
        return self.decoder(z)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of :math:`p(x\\mid z)`: pixel probabilities (Bernoulli) or means."""
        out = self.decode(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> VAEOutput:
        """Encode, draw one code per row (``eps``: the noise; ``None`` draws it), decode.

        ``eps = 0`` decodes the centres :math:`\\bar z` themselves.
        """
        mu, logvar = self.encode(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = reparameterize(mu, logvar, eps)
        return VAEOutput(self.decoder(z), mu, logvar, z)

    def loss(self, x: torch.Tensor, beta: float = 1.0, eps: torch.Tensor | None = None) -> VAELoss:
        """:func:`vae_loss` of the batch ``x`` with one code per row."""
        out = self.forward(x, eps)
        return vae_loss(x, out.recon, out.mu, out.logvar, beta, self.likelihood, self.sigma)

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, n_samples: int = 16, seed: int | None = 0) -> VAELoss:
        r"""Monte-Carlo estimate of :math:`-\mathrm{ELBO}` on ``x`` (nats per image, batch mean).

        The reconstruction term averages ``n_samples`` codes per row (drawn from a generator
        seeded with ``seed``, on the CPU, so the estimate is the same on every device); the KL is
        exact. ``loss`` is then :math:`\ge -\frac1B\sum_b\log p(x_b)` up to the sampling error.
        """
        n_samples = check_int(n_samples, "n_samples", low=1)
        g = generator(check_seed(seed))
        mu, logvar = self.encode(x)
        xt = as_tensor(x, "x", ndim=2).to(mu.device, mu.dtype)
        rec = torch.zeros((), device=mu.device, dtype=mu.dtype)
        for _ in range(n_samples):
            eps = torch.randn(mu.shape, generator=g, dtype=mu.dtype).to(mu.device)
            out = self.decoder(reparameterize(mu, logvar, eps))
            part = vae_loss(xt, out, mu, logvar, 1.0, self.likelihood, self.sigma)
            rec = rec + part.recon / n_samples
        kl = kl_normal(mu, logvar).mean()
        return VAELoss(rec + kl, rec, kl)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = 0) -> torch.Tensor:
        """``n`` images decoded from the prior, :math:`z\\sim\\mathcal N(0, I)` (their means)."""
        n = check_int(n, "n", low=1)
        p = self._param()
        z = torch.randn(n, self.latent_dim, generator=generator(check_seed(seed)), dtype=p.dtype)
        return self.mean_image(z.to(p.device))


class History(NamedTuple):
    """Per-epoch training curves returned by :func:`fit_vae` (batch-size weighted means)."""

    loss: torch.Tensor
    """``recon + beta * kl`` per epoch."""
    recon: torch.Tensor
    """Reconstruction cost per epoch (nats per image)."""
    kl: torch.Tensor
    """KL per epoch (nats per image)."""


def fit_vae(
    model: VAE,
    X: torch.Tensor,
    beta: float = 1.0,
    epochs: int = 200,
    batch_size: int | None = None,
    lr: float = 3e-3,
    seed: int | None = 0,
) -> History:
    r"""Train a :class:`VAE` by minimising :func:`vae_loss` with Adam.

    Each step draws one code per image, :math:`z = \bar z + \sigma\odot\varepsilon`, and takes a
    gradient step on :math:`-\log p(x\mid z) + \beta\,\mathrm{KL}`. The shuffling and the noise
    :math:`\varepsilon` come from a generator seeded with ``seed`` on the CPU (then moved to the
    model's device), so a run is repeatable and draws the same noise on every device.

    Args:
        model: the VAE, trained in place on its own device.
        X: training data, ``(N, in_dim)``, finite (in [0, 1] for a Bernoulli likelihood).
        beta: KL weight :math:`\beta \ge 0` (0: a plain autoencoder with noisy codes).
        epochs: passes over the data.
        batch_size: rows per step; ``None`` for full-batch steps.
        lr: Adam's learning rate.
        seed: seed of the shuffling and of the noise.

    Returns:
        :class:`History` of the per-epoch means.
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model must be an ebmlab.vae.VAE; got {type(model).__name__}")
    p = model._param()
    X = as_tensor(X, "X", ndim=2).to(p.device, p.dtype)
    if X.shape[1] != model.in_dim:
        raise ValueError(f"X must have {model.in_dim} features; got shape {tuple(X.shape)}")
    if model.likelihood == "bernoulli" and bool(((X < 0) | (X > 1)).any()):
        raise ValueError("X must lie in [0, 1] for a Bernoulli likelihood")
    beta = check_scalar(beta, "beta", low=0.0)
    epochs = check_int(epochs, "epochs", low=1)
    N = X.shape[0]
    batch_size = N if batch_size is None else check_int(batch_size, "batch_size", low=1)
    batch_size = min(batch_size, N)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    curves = torch.zeros(epochs, 3, dtype=torch.float64)
    for epoch in range(epochs):
        order = torch.randperm(N, generator=g) if batch_size < N else torch.arange(N)
        sums = torch.zeros(3, dtype=torch.float64, device=p.device)
        for start in range(0, N, batch_size):
            idx = order[start : start + batch_size].to(p.device)
            xb = X[idx]
            eps = torch.randn(len(idx), model.latent_dim, generator=g, dtype=p.dtype)
            mu, logvar = model.encoder(xb).chunk(2, dim=-1)
            out = model.decoder(reparameterize(mu, logvar, eps.to(p.device)))
            parts = _loss(xb, out, mu, logvar, beta, model.likelihood, model.sigma)
            opt.zero_grad(set_to_none=True)
            parts.loss.backward()
            opt.step()
            sums += len(idx) * torch.stack([t.detach().double() for t in parts])
        curves[epoch] = (sums / N).cpu()
        if not bool(torch.isfinite(curves[epoch]).all()):
            raise RuntimeError(
                f"training diverged at epoch {epoch} (loss {curves[epoch, 0].item()}); "
                "lower lr or check the data"
            )
    model.eval()
    return History(curves[:, 0], curves[:, 1], curves[:, 2])
