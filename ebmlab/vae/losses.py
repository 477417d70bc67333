r"""The functional core of the VAE: the reparameterisation trick, the KL terms, the negative
log-likelihoods and the (:math:`\beta`-)VAE loss, in small batched functions.

Each public function checks its arguments once and calls an unchecked core (``_reparameterize``,
``_kl_terms``, ``_nll``, ``_loss``), which the :class:`~ebmlab.vae.VAE` module and
:func:`~ebmlab.vae.fit_vae` call directly on tensors they have already checked.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .._validation import Boolean, Options, Real, as_tensor, checked

_LIKELIHOODS = ("bernoulli", "gaussian")
_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------------
# Checks shared by the public functions and the module
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


def _check_eps(eps, mu: torch.Tensor) -> torch.Tensor:
    eps = as_tensor(eps, "eps", min_ndim=1).to(mu.device, mu.dtype)
    if eps.shape != mu.shape:
        raise ValueError(
            f"eps must have the shape of mu, {tuple(mu.shape)}; got {tuple(eps.shape)}"
        )
    return eps


def _check_unit(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Bernoulli targets: every value in [0, 1]."""
    if bool(((x < 0) | (x > 1)).any()):
        raise ValueError(
            f"{name} must lie in [0, 1] for a Bernoulli likelihood; "
            f"got values in [{x.min().item():.3g}, {x.max().item():.3g}]"
        )
    return x


def _check_target(x, recon, likelihood, recon_name="recon"):
    recon = as_tensor(recon, recon_name, min_ndim=1)
    x = as_tensor(x, "x", min_ndim=1).to(recon.device, recon.dtype)
    if x.shape != recon.shape:
        raise ValueError(
            f"x must have the shape of {recon_name}, {tuple(recon.shape)}; got {tuple(x.shape)}"
        )
    if likelihood == "bernoulli":
        _check_unit(x)
    return x, recon


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


# --------------------------------------------------------------------------------------------
# The reparameterisation trick and the KL terms
# --------------------------------------------------------------------------------------------


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
    return _reparameterize(mu, logvar, _check_eps(eps, mu))


def _reparameterize(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


@checked(per_dim=Boolean())
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
    return terms if per_dim else terms.sum(-1)


@checked(per_dim=Boolean())
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
    return terms if per_dim else terms.sum(-1)


def _kl_terms(mu, logvar):
    return 0.5 * (mu**2 + torch.exp(logvar) - logvar - 1.0)


# --------------------------------------------------------------------------------------------
# The likelihoods
# --------------------------------------------------------------------------------------------


@checked(reduction=Options(_REDUCTIONS))
def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor, reduction: str = "none") -> torch.Tensor:
    r"""Negative log-likelihood of pixels under independent Bernoullis (nats), from logits.

    .. math:: -\log p(x\mid z) = \sum_j \big[\operatorname{softplus}(\ell_j) - x_j \ell_j\big]
              = -\sum_j \big[x_j\log s(\ell_j) + (1 - x_j)\log(1 - s(\ell_j))\big]

    with :math:`s` the logistic sigmoid; the softplus form never takes the log of 0. For grey
    levels :math:`x_j \in [0, 1]` it equals the *expected* NLL of a binary image drawn pixel by
    pixel with :math:`P(b_j = 1) = x_j` (the loss is linear in :math:`x_j`).

    Args:
        logits: decoder outputs :math:`\ell`, ``(..., D)``.
        x: targets in :math:`[0, 1]`, same shape.
        reduction: ``"none"``: one value per image, ``(...)``; ``"mean"`` or ``"sum"``: their
            mean or sum, a scalar.

    Returns:
        The negative log-likelihood of each image, or their mean or sum.
    """
    x, logits = _check_target(x, logits, "bernoulli", "logits")
    return _reduce(_bernoulli_nll(logits, x), reduction)


def _bernoulli_nll(logits, x):
    return (nn.functional.softplus(logits) - x * logits).sum(-1)


@checked(sigma=Real(low=0.0, low_open=True), reduction=Options(_REDUCTIONS))
def gaussian_nll(
    mean: torch.Tensor, x: torch.Tensor, sigma: float, reduction: str = "none"
) -> torch.Tensor:
    r"""Negative log-likelihood under a Gaussian of fixed standard deviation :math:`\sigma` (nats).

    .. math:: -\log p(x\mid z) = \frac{\|x - \mu\|^2}{2\sigma^2} + \frac D2\log(2\pi\sigma^2)

    A *density*: it can be negative, and its value depends on :math:`\sigma` and on the scale of
    :math:`x`. :math:`\sigma` sets how much a squared error weighs against the KL term.

    Args:
        mean: decoder outputs :math:`\mu`, ``(..., D)``.
        x: targets, same shape.
        sigma: the fixed standard deviation, :math:`> 0`.
        reduction: ``"none"``: one value per image, ``(...)``; ``"mean"`` or ``"sum"``: their
            mean or sum, a scalar.

    Returns:
        The negative log-likelihood of each image, or their mean or sum.
    """
    x, mean = _check_target(x, mean, "gaussian", "mean")
    return _reduce(_gaussian_nll(mean, x, sigma), reduction)


def _gaussian_nll(mean, x, sigma):
    D = x.shape[-1]
    return (x - mean).pow(2).sum(-1) / (2 * sigma**2) + 0.5 * D * math.log(2 * math.pi * sigma**2)


def _nll(x, recon, likelihood, sigma):
    """The negative log-likelihood of each row, for the chosen likelihood (unchecked)."""
    if likelihood == "bernoulli":
        return _bernoulli_nll(recon, x)
    return _gaussian_nll(recon, x, sigma)


# --------------------------------------------------------------------------------------------
# The loss
# --------------------------------------------------------------------------------------------


class VAELoss(NamedTuple):
    """A VAE objective and its two parts (nats per image): batch means by default."""

    loss: torch.Tensor
    """The sum ``recon + kl_weight * kl``, the negative ELBO when ``kl_weight = 1``."""
    recon: torch.Tensor
    """The reconstruction cost :math:`-\\mathbb E_q \\log p(x\\mid z)` (one sample of z)."""
    kl: torch.Tensor
    """The rate :math:`\\mathrm{KL}(q(z\\mid x)\\,\\|\\,p(z))`."""


@checked(
    kl_weight=Real(low=0.0),
    likelihood=Options(_LIKELIHOODS),
    sigma=Real(low=0.0, low_open=True),
    reduction=Options(_REDUCTIONS),
)
def vae_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_weight: float = 1.0,
    likelihood: str = "bernoulli",
    sigma: float = 0.1,
    reduction: str = "mean",
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
        kl_weight: the weight :math:`\beta \ge 0` of the KL term.
        likelihood: ``"bernoulli"`` (pixels in [0, 1]) or ``"gaussian"`` (fixed ``sigma``).
        sigma: the Gaussian likelihood's standard deviation (ignored for Bernoulli).
        reduction: ``"mean"`` over the batch (the formula), ``"sum"``, or ``"none"`` (one
            value per image, ``(B,)``).

    Returns:
        :class:`VAELoss` ``(loss, recon, kl)``, reduced over the batch as ``reduction`` says.
    """
    recon = as_tensor(recon, "recon", ndim=2)
    mu, logvar = _pair(mu, logvar)
    if mu.ndim != 2 or mu.shape[0] != recon.shape[0]:
        raise ValueError(
            f"mu must have shape (B, d) with B = {recon.shape[0]} (recon's batch); "
            f"got {tuple(mu.shape)}"
        )
    x, recon = _check_target(x, recon, likelihood)
    return _loss(x, recon, mu, logvar, kl_weight, likelihood, sigma, reduction)


def _loss(x, recon, mu, logvar, kl_weight, likelihood, sigma, reduction="mean") -> VAELoss:
    # vae_loss without the checks, for the module and the training loop (their inputs are
    # checked once, and a divergence must be reported as one, not as a bad argument)
    rec = _reduce(_nll(x, recon, likelihood, sigma), reduction)
    kl = _reduce(_kl_terms(mu, logvar).sum(-1), reduction)
    return VAELoss(rec + kl_weight * kl, rec, kl)
