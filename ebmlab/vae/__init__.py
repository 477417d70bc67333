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

Submodules: ``regularized`` (the penalty, with its exact minimiser), ``losses`` (the
functional core of the VAE) and ``model`` (the :class:`VAE` module and :func:`fit_vae`).
"""

from __future__ import annotations

from .losses import (
    VAELoss,
    bernoulli_nll,
    gaussian_nll,
    kl_gaussians,
    kl_normal,
    reparameterize,
    vae_loss,
)
from .model import VAE, VAEOutput, fit_vae
from .regularized import regularized_energy

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
]
