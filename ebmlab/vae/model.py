"""The VAE module (MLP encoder and decoder) and its training loop."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._validation import Int, Options, Real, Seed, as_tensor, checked
from ..base import History
from ..optim import minibatches, train
from ..runtime import generator
from .losses import (
    _LIKELIHOODS,
    _REDUCTIONS,
    VAELoss,
    _check_unit,
    _kl_terms,
    _loss,
    _nll,
    _reparameterize,
)

# --------------------------------------------------------------------------------------------
# The module
# --------------------------------------------------------------------------------------------


class VAEOutput(NamedTuple):
    """What :meth:`VAE.forward` returns: the decoder's output, then what it was decoded from."""

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

    @checked(
        in_dim=Int(low=1),
        latent_dim=Int(low=1),
        hidden=Int(low=1),
        likelihood=Options(_LIKELIHOODS),
        sigma=Real(low=0.0, low_open=True),
        seed=Seed(),
    )
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
        self.in_dim, self.latent_dim, self.hidden = in_dim, latent_dim, hidden
        self.likelihood, self.sigma = likelihood, sigma
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = _mlp([self.in_dim, self.hidden, 2 * self.latent_dim])
            self.decoder = _mlp([self.latent_dim, self.hidden, self.in_dim])

    def _param(self) -> torch.Tensor:
        return next(self.parameters())

    # the checks of the boundary, each run once per call of a public method

    def _data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` as a ``(B, in_dim)`` tensor on the model's device and dtype."""
        p = self._param()
        x = as_tensor(x, name, ndim=2).to(p.device, p.dtype)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"{name} must have {self.in_dim} features; got shape {tuple(x.shape)}")
        return x

    def _targets(self, x, name: str = "x") -> torch.Tensor:
        """:meth:`_data`, and in [0, 1] for a Bernoulli likelihood."""
        x = self._data(x, name)
        return _check_unit(x, name) if self.likelihood == "bernoulli" else x

    def _noise(self, n: int, eps) -> torch.Tensor:
        """The noise of ``n`` codes: ``eps`` checked, or drawn from torch's global stream."""
        p = self._param()
        shape = (n, self.latent_dim)
        if eps is None:
            return torch.randn(shape, device=p.device, dtype=p.dtype)
        eps = as_tensor(eps, "eps", ndim=2).to(p.device, p.dtype)
        if tuple(eps.shape) != shape:
            raise ValueError(
                f"eps must have shape {shape} (one code per row of x); got {tuple(eps.shape)}"
            )
        return eps

    # the unchecked cores

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def _mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def _forward(self, x: torch.Tensor, eps: torch.Tensor) -> VAEOutput:
        mu, logvar = self._encode(x)
        z = _reparameterize(mu, logvar, eps)
        return VAEOutput(self.decoder(z), mu, logvar, z)

    # the public methods

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fuzzy ball of each row of ``x``: ``(mu, logvar)``, each ``(B, latent_dim)``."""
        return self._encode(self._data(x))

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
        return self._mean(self.decode(z))

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> VAEOutput:
        """Encode, draw one code per row (``eps``: the noise, ``(B, latent_dim)``; ``None``
        draws it from torch's global stream), decode.

        ``eps = 0`` decodes the centres :math:`\\bar z` themselves.
        """
        x = self._data(x)
        return self._forward(x, self._noise(len(x), eps))

    @checked(kl_weight=Real(low=0.0), reduction=Options(_REDUCTIONS))
    def loss(
        self,
        x: torch.Tensor,
        kl_weight: float = 1.0,
        eps: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> VAELoss:
        """:func:`~ebmlab.vae.vae_loss` of the batch ``x`` with one code per row (``eps`` as
        in :meth:`forward`), the KL weighted by ``kl_weight``."""
        x = self._targets(x)
        out = self._forward(x, self._noise(len(x), eps))
        return _loss(
            x, out.recon, out.mu, out.logvar, kl_weight, self.likelihood, self.sigma, reduction
        )

    @torch.no_grad()
    @checked(n_samples=Int(low=1), seed=Seed())
    def negative_elbo(self, x: torch.Tensor, n_samples: int = 16, seed: int | None = 0) -> VAELoss:
        r"""Monte-Carlo estimate of :math:`-\mathrm{ELBO}` on ``x`` (nats per image, batch mean).

        The reconstruction term averages ``n_samples`` codes per row (drawn from a generator
        seeded with ``seed``, on the CPU, so the estimate is the same on every device); the KL is
        exact. ``loss`` is then :math:`\ge -\frac1B\sum_b\log p(x_b)` up to the sampling error.
        """
        g = generator(seed)
        x = self._targets(x)
        mu, logvar = self._encode(x)
        rec = torch.zeros((), device=mu.device, dtype=mu.dtype)
        for _ in range(n_samples):
            eps = torch.randn(mu.shape, generator=g, dtype=mu.dtype).to(mu.device)
            out = self.decoder(_reparameterize(mu, logvar, eps))
            rec = rec + _nll(x, out, self.likelihood, self.sigma).mean() / n_samples
        kl = _kl_terms(mu, logvar).sum(-1).mean()
        return VAELoss(rec + kl, rec, kl)

    @torch.no_grad()
    @checked(n=Int(low=1), seed=Seed())
    def sample(self, n: int, seed: int | None = 0) -> torch.Tensor:
        """``n`` images decoded from the prior, :math:`z\\sim\\mathcal N(0, I)` (their means)."""
        p = self._param()
        z = torch.randn(n, self.latent_dim, generator=generator(seed), dtype=p.dtype)
        return self._mean(self.decoder(z.to(p.device)))


# --------------------------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------------------------


@checked(
    kl_weight=Real(low=0.0),
    epochs=Int(low=1),
    batch_size=Int(low=1, optional=True),
    lr=Real(low=0.0, low_open=True),
    seed=Seed(),
)
def fit_vae(
    model: VAE,
    X: torch.Tensor,
    kl_weight: float = 1.0,
    epochs: int = 200,
    batch_size: int | None = None,
    lr: float = 3e-3,
    seed: int | None = 0,
) -> History:
    r"""Train a :class:`VAE` by minimising :func:`~ebmlab.vae.vae_loss` with Adam.

    Each step draws one code per image, :math:`z = \bar z + \sigma\odot\varepsilon`, and takes a
    gradient step on :math:`-\log p(x\mid z) + \beta\,\mathrm{KL}`. The shuffling and the noise
    :math:`\varepsilon` come from a generator seeded with ``seed`` on the CPU (then moved to the
    model's device), so a run is repeatable and draws the same noise on every device.

    Args:
        model: the VAE, trained in place on its own device.
        X: training data, ``(N, in_dim)``, finite (in [0, 1] for a Bernoulli likelihood).
        kl_weight: the KL weight :math:`\beta \ge 0` (0: a plain autoencoder with noisy codes).
        epochs: passes over the data.
        batch_size: rows per step; ``None`` for full-batch steps.
        lr: Adam's learning rate.
        seed: seed of the shuffling and of the noise.

    Returns:
        :class:`~ebmlab.base.History` of the per-epoch means (weighted by the batch sizes) of
        the fields of :class:`~ebmlab.vae.VAELoss`: ``loss`` (``recon + kl_weight * kl``),
        ``recon`` and ``kl``, in nats per image.

    Raises:
        RuntimeError: when the loss of an epoch is not finite (training diverged).
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model must be an ebmlab.vae.VAE; got {type(model).__name__}")
    X = model._targets(X, "X")
    N = X.shape[0]
    batch_size = N if batch_size is None else min(batch_size, N)
    device, dtype = X.device, X.dtype
    g = generator(seed)

    def step(idx: torch.Tensor) -> VAELoss:
        xb = X[idx.to(device)]
        eps = torch.randn(len(idx), model.latent_dim, generator=g, dtype=dtype)
        out = model._forward(xb, eps.to(device))
        return _loss(xb, out.recon, out.mu, out.logvar, kl_weight, model.likelihood, model.sigma)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    epochs_of_batches = (
        minibatches(N, batch_size, g, shuffle=batch_size < N) for _ in range(epochs)
    )
    model.train()
    history = train(step, opt, epochs_of_batches, per="epoch")
    model.eval()
    return history
