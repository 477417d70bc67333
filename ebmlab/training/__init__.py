r"""Learning an energy: maximum likelihood, denoising, contrastive divergence, NCE, margins.

Training shapes an energy :math:`E_W(y)` so that it is **low on the data** and **higher
elsewhere**. The lecture sorts the ways of doing it into two families:

* **contrastive** methods push the energy of data points down and the energy of chosen other
  points up — maximum likelihood (every point, weighted by the model's own density), contrastive
  divergence and its persistent variant (points found by Langevin dynamics), noise-contrastive
  estimation (points from a known noise), margin losses, ratio matching and minimum probability
  flow (points one step away from the data), and the denoising autoencoder and BERT (corrupted
  data points);
* **architectural** methods limit the volume of space that can have low energy, so that pushing
  down on the data is enough (K-means, sparse coding, the VAE: later chapters).

Each loss is a small pure function of energies; the ``fit_*`` functions run
:func:`ebmlab.optim.train` around them (Adam, minibatches drawn from a seeded generator, the
settings in one :class:`TrainConfig`) and return a :class:`FitResult`. Negative samples come from
:mod:`ebmlab.samplers`.

The package, in the book's order: ``models`` (the energies and :class:`FitResult`),
``losses``, ``masked`` (BERT's masked tokens), ``fit`` (the training loops).
"""

from __future__ import annotations

from .fit import TrainConfig, fit_cd, fit_dae, fit_hinge, fit_ml_grid, fit_mpf, fit_nce
from .losses import (
    cd_loss,
    dae_loss,
    hinge_loss,
    mpf_loss,
    nce_loss,
    nll_gradient,
    nll_loss,
    ratio_matching_loss,
)
from .masked import mask_tokens, masked_token_loss
from .models import DenoisingAutoencoder, FitResult, MLPEnergy

__all__ = [
    "MLPEnergy",
    "DenoisingAutoencoder",
    "FitResult",
    "TrainConfig",
    "nll_loss",
    "nll_gradient",
    "dae_loss",
    "cd_loss",
    "hinge_loss",
    "nce_loss",
    "mpf_loss",
    "ratio_matching_loss",
    "mask_tokens",
    "masked_token_loss",
    "fit_ml_grid",
    "fit_dae",
    "fit_cd",
    "fit_nce",
    "fit_hinge",
    "fit_mpf",
]
