r"""Regularised latent-variable EBMs and the variational autoencoder (VAE).

A latent-variable EBM with a decoder has the energy

.. math:: E(x, y, z) = C\big(y, \operatorname{Dec}(\operatorname{Pred}(x), z)\big) + \lambda R(z),

and the free energy :math:`F(x, y) = \min_z E(x, y, z)`. If :math:`z` can reproduce *any*
:math:`y` at no cost, :math:`F` is zero everywhere and says nothing about the data: the
information :math:`z` carries has to be limited. Two ways are here:

* a **penalty** :math:`R(z)` — the :math:`L_1` norm of sparse coding, or the :math:`L_2` norm —
  with an exact minimiser for an orthonormal linear decoder (:func:`regularized_energy`);
* **noise**: the VAE of Kingma and Welling adds Gaussian noise to the code,
  :math:`z = \bar z + \sigma\odot\varepsilon`, and pulls every "fuzzy ball"
  :math:`\mathcal N(\bar z, \sigma^2)` towards the prior :math:`\mathcal N(0, I)` with a KL term
  that penalises both :math:`\|\bar z\|^2` (a spring to the origin) and the distance of
  :math:`\sigma^2` from 1.

The math is in small batched functions (:func:`reparameterize`, :func:`kl_normal`,
:func:`kl_gaussians`, :func:`bernoulli_nll`, :func:`gaussian_nll`, :func:`vae_loss`); the
:class:`VAE` module and :func:`fit_vae` wrap them. Everything follows the device of its inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ._validation import as_tensor, check_int, check_scalar, check_seed
from .runtime import generator

__all__ = [
    "regularized_energy",
    "reparameterize",
    "kl_normal",
    "kl_gaussians",
    "bernoulli_nll",
    "gaussian_nll",
    "vae_loss",
    "VAELoss",
    "VAEOutput",
    "VAE",
    "fit_vae",
    "History",
]

_LIKELIHOODS = ("bernoulli", "gaussian")


# --------------------------------------------------------------------------------------------
# A regularised latent variable with an exact minimiser
# --------------------------------------------------------------------------------------------


def regularized_energy(
    y: torch.Tensor, W: torch.Tensor, lam: float, penalty: str = "l1"
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Free energy :math:`F(y) = \min_z \|y - Wz\|^2 + \lambda R(z)` for a decoder with
    orthonormal columns, and its minimiser.

    When :math:`W^\top W = I` (``W`` is ``(n, d)`` with :math:`d \le n`), the squared error splits
    into what the decoder cannot reach and a term per latent coordinate, with
    :math:`c = W^\top y`:

    .. math:: \|y - Wz\|^2 = \|y - WW^\top y\|^2 + \sum_{i=1}^d (c_i - z_i)^2 ,

    so the minimisation is separable and exact:

    * ``penalty="l1"``, :math:`R(z) = \|z\|_1`: :math:`\check z_i = \operatorname{sign}(c_i)
      \max(|c_i| - \lambda/2, 0)` (soft thresholding), and each coordinate costs
      :math:`c_i^2` if :math:`|c_i| \le \lambda/2`, else :math:`\lambda|c_i| - \lambda^2/4`;
    * ``penalty="l2"``, :math:`R(z) = \|z\|_2^2`: :math:`\check z = c/(1 + \lambda)`, costing
      :math:`\frac{\lambda}{1+\lambda}\|c\|^2` — a function of :math:`\|c\|` alone.

    With :math:`\lambda = 0` and a complete basis (:math:`d = n`) every :math:`y` gets
    :math:`F = 0`: an unregularised latent variable explains noise as well as data.

    Args:
        y: points, ``(..., n)``.
        W: decoder with orthonormal columns, ``(n, d)``, :math:`d \le n`.
        lam: the weight :math:`\lambda \ge 0` of the regulariser.
        penalty: ``"l1"`` or ``"l2"``.

    Returns:
        ``(F, z)``: the free energy ``(...)`` and the minimising code ``(..., d)``.
    """
    y = as_tensor(y, "y", min_ndim=1)
    W = as_tensor(W, "W", ndim=2).to(y.device, y.dtype)
    lam = check_scalar(lam, "lam", low=0.0)
    if penalty not in ("l1", "l2"):
        raise ValueError(f"penalty must be 'l1' or 'l2'; got {penalty!r}")
    n, d = W.shape
    if d > n:
        raise ValueError(f"W must have at most as many columns as rows; got shape {(n, d)}")
    if y.shape[-1] != n:
        raise ValueError(f"y must have {n} features (W has {n} rows); got shape {tuple(y.shape)}")
    gram = W.T @ W
    tol = 1e-4 if W.dtype == torch.float32 else 1e-8
    if not torch.allclose(gram, torch.eye(d, dtype=W.dtype, device=W.device), atol=tol):
        raise ValueError("W must have orthonormal columns (W.T @ W == I)")
    c = y @ W
    residual = (y - c @ W.T).pow(2).sum(-1)
    if penalty == "l1":
        z = torch.sign(c) * (c.abs() - lam / 2).clamp_min(0.0)
    else:
        z = c / (1.0 + lam)
    R = z.abs().sum(-1) if penalty == "l1" else z.pow(2).sum(-1)
    F = residual + (c - z).pow(2).sum(-1) + lam * R
    return F, z


# --------------------------------------------------------------------------------------------
# The functional core of the VAE
# --------------------------------------------------------------------------------------------


def _pair(mu, logvar, names=("mu", "logvar")) -> tuple[torch.Tensor, torch.Tensor]:
    mu = as_tensor(mu, names[0], min_ndim=1)
    logvar = as_tensor(logvar, names[1], min_ndim=1).to(mu.device, mu.dtype)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]}, {tuple(mu.shape)}; "
            f"got {tuple(logvar.shape)}"
        )
    return mu, logvar


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r"""A sample of :math:`\mathcal N(\bar z, \operatorname{diag}\sigma^2)` written as a
    differentiable function of its parameters (the *reparameterisation trick*):

    .. math:: z = \bar z + \sigma \odot \varepsilon, \qquad
              \sigma = e^{\frac12\log\sigma^2},\quad \varepsilon \sim \mathcal N(0, I).

    The randomness is all in :math:`\varepsilon`, which is passed in, so gradients flow to
    :math:`\bar z` and :math:`\log\sigma^2` and the result is deterministic given ``eps``.

    Args:
        mu: the means :math:`\bar z`, ``(..., d)``.
        logvar: the log-variances :math:`\log\sigma^2`, same shape.
        eps: standard normal noise, same shape.

    Returns:
        :math:`z`, same shape as ``mu``.
    """
    mu, logvar = _pair(mu, logvar)
    eps = as_tensor(eps, "eps", min_ndim=1).to(mu.device, mu.dtype)
    if eps.shape != mu.shape:
        raise ValueError(
            f"eps must have the shape of mu, {tuple(mu.shape)}; got {tuple(eps.shape)}"
        )
    return mu + torch.exp(0.5 * logvar) * eps


def kl_gaussians(
    mu1: torch.Tensor,
    logvar1: torch.Tensor,
    mu2: torch.Tensor,
    logvar2: torch.Tensor,
    per_dim: bool = False,
) -> torch.Tensor:
    r"""KL divergence between two diagonal Gaussians, in closed form (nats).

    .. math:: \mathrm{KL}\big(\mathcal N(\mu_1, \sigma_1^2)\,\|\,\mathcal N(\mu_2, \sigma_2^2)\big)
              = \sum_i \frac12\Big(\log\frac{\sigma_{2,i}^2}{\sigma_{1,i}^2}
              + \frac{\sigma_{1,i}^2 + (\mu_{1,i} - \mu_{2,i})^2}{\sigma_{2,i}^2} - 1\Big)

    It is zero only when the two are equal, and it is not symmetric.

    Args:
        mu1: means of the first Gaussian, ``(..., d)``.
        logvar1: its log-variances, same shape.
        mu2: means of the second, broadcastable to ``mu1``.
        logvar2: its log-variances, same shape as ``mu2``.
        per_dim: return the terms of the sum, ``(..., d)``, instead of their sum ``(...)``.

    Returns:
        The divergence summed over the last dimension (or per dimension).
    """
    mu1, logvar1 = _pair(mu1, logvar1, ("mu1", "logvar1"))
    mu2, logvar2 = _pair(mu2, logvar2, ("mu2", "logvar2"))
    mu2, logvar2 = mu2.to(mu1.device, mu1.dtype), logvar2.to(mu1.device, mu1.dtype)
    try:
        torch.broadcast_shapes(mu1.shape, mu2.shape)
    except RuntimeError:
        raise ValueError(
            f"mu2 must broadcast with mu1's shape {tuple(mu1.shape)}; got {tuple(mu2.shape)}"
        ) from None
    terms = 0.5 * (
        logvar2 - logvar1 + (torch.exp(logvar1) + (mu1 - mu2) ** 2) * torch.exp(-logvar2) - 1.0
    )
    if not isinstance(per_dim, bool):
        raise TypeError(f"per_dim must be a bool; got {type(per_dim).__name__}")
    return terms if per_dim else terms.sum(-1)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor, per_dim: bool = False) -> torch.Tensor:
    r"""KL divergence of :math:`\mathcal N(\bar z, \operatorname{diag}\sigma^2)` from the prior
    :math:`\mathcal N(0, I)` — the VAE's regulariser (nats).

    .. math:: \mathrm{KL}\big(\mathcal N(\bar z, \sigma^2)\,\|\,\mathcal N(0, I)\big)
              = \sum_i \underbrace{\tfrac12 \bar z_i^2}_{\text{spring to the origin}}
              + \underbrace{\tfrac12\big(\sigma_i^2 - \log\sigma_i^2 - 1\big)}_{
              \text{variance pulled to 1}}

    Both parts are :math:`\ge 0`; the second is zero only at :math:`\sigma_i^2 = 1`, so the KL
    term limits the size of the fuzzy balls from below *and* above.

    Args:
        mu: the means :math:`\bar z`, ``(..., d)``.
        logvar: the log-variances :math:`\log\sigma^2`, same shape.
        per_dim: return the terms, ``(..., d)``, instead of their sum ``(...)``.

    Returns:
        The divergence summed over the last dimension (or per dimension).
    """
    mu, logvar = _pair(mu, logvar)
    terms = _kl_terms(mu, logvar)
    if not isinstance(per_dim, bool):
        raise TypeError(f"per_dim must be a bool; got {type(per_dim).__name__}")
    return terms if per_dim else terms.sum(-1)


def _kl_terms(mu, logvar):
    return 0.5 * (mu**2 + torch.exp(logvar) - logvar - 1.0)


def _check_target(x, recon, likelihood, recon_name="recon"):
    recon = as_tensor(recon, recon_name, min_ndim=1)
    x = as_tensor(x, "x", min_ndim=1).to(recon.device, recon.dtype)
    if x.shape != recon.shape:
        raise ValueError(
            f"x must have the shape of {recon_name}, {tuple(recon.shape)}; got {tuple(x.shape)}"
        )
    if likelihood == "bernoulli" and bool(((x < 0) | (x > 1)).any()):
        raise ValueError(
            "x must lie in [0, 1] for a Bernoulli likelihood; "
            f"got values in [{x.min().item():.3g}, {x.max().item():.3g}]"
        )
    return x, recon


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Negative log-likelihood of pixels under independent Bernoullis (nats), from logits.

    .. math:: -\log p(x\mid z) = \sum_j \big[\operatorname{softplus}(\ell_j) - x_j \ell_j\big]
              = -\sum_j \big[x_j\log s(\ell_j) + (1 - x_j)\log(1 - s(\ell_j))\big]

    with :math:`s` the logistic sigmoid; the softplus form never takes the log of 0. For grey
    levels :math:`x_j \in [0, 1]` it equals the *expected* NLL of a binary image drawn pixel by
    pixel with :math:`P(b_j = 1) = x_j` (the loss is linear in :math:`x_j`).

    Args:
        logits: decoder outputs :math:`\ell`, ``(..., D)``.
        x: targets in :math:`[0, 1]`, same shape.

    Returns:
        One value per image, ``(...)``.
    """
    x, logits = _check_target(x, logits, "bernoulli", "logits")
    return _bernoulli_nll(logits, x)


def _bernoulli_nll(logits, x):
    return (nn.functional.softplus(logits) - x * logits).sum(-1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    r"""Negative log-likelihood under a Gaussian of fixed standard deviation :math:`\sigma` (nats).

    .. math:: -\log p(x\mid z) = \frac{\|x - \mu\|^2}{2\sigma^2} + \frac D2\log(2\pi\sigma^2)

    A *density*: it can be negative, and its value depends on :math:`\sigma` and on the scale of
    :math:`x`. :math:`\sigma` sets how much a squared error weighs against the KL term.

    Args:
        mean: decoder outputs :math:`\mu`, ``(..., D)``.
        x: targets, same shape.
        sigma: the fixed standard deviation, :math:`> 0`.

    Returns:
        One value per image, ``(...)``.
    """
    x, mean = _check_target(x, mean, "gaussian", "mean")
    sigma = check_scalar(sigma, "sigma", low=0.0, low_open=True)
    return _gaussian_nll(mean, x, sigma)


def _gaussian_nll(mean, x, sigma):
    D = x.shape[-1]
    return (x - mean).pow(2).sum(-1) / (2 * sigma**2) + 0.5 * D * math.log(2 * math.pi * sigma**2)


class VAELoss(NamedTuple):
    """A VAE objective and its two parts, each averaged over the batch (nats per image)."""

    loss: torch.Tensor
    """The sum ``recon + beta * kl``, the negative ELBO when ``beta = 1``."""
    recon: torch.Tensor
    """The reconstruction cost :math:`-\\mathbb E_q \\log p(x\\mid z)` (one sample of z)."""
    kl: torch.Tensor
    """The rate :math:`\\mathrm{KL}(q(z\\mid x)\\,\\|\\,p(z))`."""


def vae_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
    sigma: float = 0.1,
) -> VAELoss:
    r"""The (:math:`\beta`-)VAE loss of a batch: reconstruction cost plus :math:`\beta` times KL.

    .. math:: \mathcal L = \frac1B\sum_{b=1}^B \Big[-\log p(x_b \mid z_b)
              + \beta\,\mathrm{KL}\big(\mathcal N(\bar z_b, \sigma_b^2)\,\|\,\mathcal N(0, I)\big)
              \Big], \qquad z_b = \bar z_b + \sigma_b\odot\varepsilon_b .

    With :math:`\beta = 1` it is a one-sample estimate of the negative evidence lower bound,
    :math:`-\mathrm{ELBO} = \mathbb E_q[-\log p(x\mid z)] + \mathrm{KL}(q\,\|\,p) \ge -\log p(x)`,
    the *variational free energy* of the energy :math:`-\log p(x\mid z) - \log p(z)`.

    Args:
        x: the batch, ``(B, D)``.
        recon: the decoder's output for the sampled codes: logits (Bernoulli) or means
            (Gaussian), ``(B, D)``.
        mu: the encoder's means :math:`\bar z`, ``(B, d)``.
        logvar: the encoder's log-variances, ``(B, d)``.
        beta: the weight :math:`\beta \ge 0` of the KL term.
        likelihood: ``"bernoulli"`` (pixels in [0, 1]) or ``"gaussian"`` (fixed ``sigma``).
        sigma: the Gaussian likelihood's standard deviation (ignored for Bernoulli).

    Returns:
        :class:`VAELoss` ``(loss, recon, kl)``, scalars (batch means, nats per image).
    """
    beta = check_scalar(beta, "beta", low=0.0)
    if likelihood not in _LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {_LIKELIHOODS}; got {likelihood!r}")
    recon = as_tensor(recon, "recon", ndim=2)
    mu, logvar = _pair(mu, logvar)
    if mu.ndim != 2 or mu.shape[0] != recon.shape[0]:
        raise ValueError(
            f"mu must have shape (B, d) with B = {recon.shape[0]} (recon's batch); "
            f"got {tuple(mu.shape)}"
        )
    x, recon = _check_target(x, recon, likelihood)
    sigma = check_scalar(sigma, "sigma", low=0.0, low_open=True)
    return _loss(x, recon, mu, logvar, beta, likelihood, sigma)


def _loss(x, recon, mu, logvar, beta, likelihood, sigma) -> VAELoss:
    # vae_loss without the checks, for the training loop (its inputs are checked once, and a
    # divergence must be reported as one, not as a bad argument)
    if likelihood == "bernoulli":
        nll = _bernoulli_nll(recon, x)
    else:
        nll = _gaussian_nll(recon, x, sigma)
    rec = nll.mean()
    kl = _kl_terms(mu, logvar).sum(-1).mean()
    return VAELoss(rec + beta * kl, rec, kl)


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
