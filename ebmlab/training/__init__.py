r"""Learning an energy: maximum likelihood, denoising, contrastive divergence, NCE, margins;
deep EBMs, score matching and diffusion.

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

Beyond the lectures, the same ideas scale up and turn into score-based generation:

* ``deep`` — a convolutional energy of images trained by contrastive divergence with short-run
  Langevin from a **replay buffer** (:func:`fit_deep_ebm`, :class:`ReplayBuffer`);
* ``score`` — **denoising score matching** (:func:`dsm_loss`), Tweedie's formula
  (:func:`tweedie_denoise`) and a noise-conditional score network (:func:`fit_dsm`), sampled by
  :func:`ebmlab.samplers.annealed_langevin`; ``mixture`` — a Gaussian mixture whose score is
  known at every noise level, to check them;
* ``diffusion`` — DDPM's loss and sampler, written as score matching at every noise level
  (:func:`fit_ddpm`, :func:`ddpm_sample`);
* ``metrics`` — an AUROC (energy as an out-of-distribution score) and an MMD.

The package, in the book's order: ``models`` (the energies and :class:`FitResult`),
``losses``, ``masked`` (BERT's masked tokens), ``fit`` (the training loops), then ``deep``,
``mixture``, ``score``, ``diffusion`` and ``metrics``.
"""

from __future__ import annotations

from .deep import (
    ConvEnergy,
    DeepEBMConfig,
    DeepEBMResult,
    ReplayBuffer,
    fit_deep_ebm,
    replay_sample,
)
from .diffusion import DDPMSchedule, ddpm_loss, ddpm_sample, ddpm_schedule, fit_ddpm
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
from .metrics import auroc, mmd
from .mixture import mixture_posterior_mean, mixture_sample, mixture_score
from .models import DenoisingAutoencoder, FitResult, MLPEnergy
from .score import NoiseConditionalScore, dsm_loss, fit_dsm, geometric_sigmas, tweedie_denoise

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
    "ConvEnergy",
    "ReplayBuffer",
    "replay_sample",
    "DeepEBMConfig",
    "DeepEBMResult",
    "fit_deep_ebm",
    "mixture_sample",
    "mixture_score",
    "mixture_posterior_mean",
    "dsm_loss",
    "tweedie_denoise",
    "geometric_sigmas",
    "NoiseConditionalScore",
    "fit_dsm",
    "DDPMSchedule",
    "ddpm_schedule",
    "ddpm_loss",
    "ddpm_sample",
    "fit_ddpm",
    "auroc",
    "mmd",
]
