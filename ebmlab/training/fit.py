r"""The training loops of :mod:`ebmlab.training`: Adam on the losses of :mod:`.losses`.

Each ``fit_*`` function checks its inputs once, then trains a model in place with
:func:`ebmlab.optim.train`, one minibatch per step drawn with replacement from a seeded
generator (:func:`ebmlab.optim.minibatches`), and returns a :class:`~ebmlab.training.FitResult`.
Their optimisation settings are one :class:`TrainConfig`; negative samples come from
:mod:`ebmlab.samplers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .. import samplers
from .._validation import Boolean, Int, Real, Seed, as_tensor, check_fields, checked
from ..base import History
from ..energy import grid_2d
from ..optim import minibatches, train
from ..runtime import generator
from ..samplers import LangevinConfig
from ._checks import POSITIVE
from .losses import cd_loss, dae_loss, hinge_loss, mpf_loss, nce_loss, nll_loss
from .models import FitResult

__all__ = ["TrainConfig", "fit_ml_grid", "fit_dae", "fit_cd", "fit_nce", "fit_hinge", "fit_mpf"]

# The unchecked cores of the losses and of the sampler: a fit_* function checks its inputs once,
# then calls these at every step.
_nll, _dae, _cd, _hinge, _nce, _mpf = (
    f.__wrapped__ for f in (nll_loss, dae_loss, cd_loss, hinge_loss, nce_loss, mpf_loss)
)
_langevin = samplers.langevin.__wrapped__
_CD_CHAIN = LangevinConfig(steps=10)  # k = 10 steps of size 0.01, noise sqrt(2 * 0.01)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How a ``fit_*`` function optimises (checked when it is made).

    Args:
        steps: Adam steps, at least 1.
        lr: Adam's learning rate, :math:`> 0`.
        batch_size: data points per step, drawn with replacement (all of them, in order, when
            ``batch_size`` is at least the number of points).
        seed: seed of the minibatches and of the loop's other draws (``None``: the
            minibatches come from torch's global stream).
    """

    steps: int = 300
    lr: float = 1e-2
    batch_size: int = 256
    seed: int | None = 0

    def __post_init__(self) -> None:
        check_fields(
            self, {"steps": Int(low=1), "lr": POSITIVE, "batch_size": Int(low=1), "seed": Seed()}
        )


# --------------------------------------------------------------------------- the loop


def _check_fit(model, Y, config) -> torch.Tensor:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    return as_tensor(Y, "Y", ndim=2)


def _fit(model, Y, config, g, loss) -> History:
    """Adam on ``loss(t, batch)``, one minibatch of ``Y`` per step drawn with ``g``."""

    def step(t):
        (idx,) = minibatches(Y.shape[0], config.batch_size, g, replacement=True)
        return loss(t, Y[idx.to(Y.device)])

    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return train(step, opt, [range(config.steps)])


def _step_seed(config: TrainConfig, t: int) -> int:
    """The seed of step ``t``'s own draws (corruption, Langevin noise)."""
    return (0 if config.seed is None else config.seed) * 100_003 + t


# --------------------------------------------------------------------------- training functions


@checked(low=Real(), high=Real(), n=Int(low=1), beta=POSITIVE)
def fit_ml_grid(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    low: float,
    high: float,
    n: int = 64,
    beta: float = 1.0,
    config: TrainConfig = TrainConfig(),
) -> FitResult:
    r"""Maximum likelihood for a 2-D energy, with the partition function summed on a grid.

    Minimises :func:`nll_loss` with :math:`\int e^{-\beta E}` replaced by the sum over the
    :math:`n \times n` cell centres of :func:`ebmlab.energy.grid_2d` on
    :math:`[low, high]^2` (cell area :math:`\Delta = ((high-low)/n)^2`). Exact up to the grid's
    resolution — tractable only because :math:`y` has two dimensions.

    Args:
        model: the energy, ``(B, 2) -> (B,)``, trained in place.
        Y: the data, ``(N, 2)``, inside the box.
        low, high: the box.
        n: grid points per side.
        beta: inverse temperature :math:`\beta > 0`.
        config: steps, learning rate, batch size and seed of the minibatches.
    """
    Y = _check_fit(model, Y, config)
    if Y.shape[1] != 2:
        raise ValueError(f"Y must have shape (N, 2) for a 2-D grid; got {tuple(Y.shape)}")
    _, _, grid = grid_2d(low, high, n, dtype=Y.dtype, device=Y.device)
    cell = ((high - low) / n) ** 2
    history = _fit(
        model,
        Y,
        config,
        generator(config.seed),
        lambda t, batch: _nll(model(batch), model(grid), beta, cell),
    )
    return FitResult(None, history)


@checked(noise_std=POSITIVE)
def fit_dae(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    noise_std: float = 0.1,
    config: TrainConfig = TrainConfig(steps=1500),
) -> FitResult:
    r"""Train a denoising autoencoder with :func:`dae_loss` (fresh corruption at every step).

    Args:
        model: ``(B, d) -> (B, d)``, e.g. :class:`DenoisingAutoencoder`, trained in place.
        Y: clean points, ``(N, d)``.
        noise_std: :math:`\sigma > 0` of the Gaussian corruption.
        config: steps, learning rate, batch size and seed of the minibatches and the corruption.
    """
    Y = _check_fit(model, Y, config)
    history = _fit(
        model,
        Y,
        config,
        generator(config.seed),
        lambda t, batch: _dae(model, batch, noise_std, seed=_step_seed(config, t)),
    )
    return FitResult(None, history)


@checked(persistent=Boolean(), n_particles=Int(low=1), alpha=Real(low=0.0))
def fit_cd(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    sampler: LangevinConfig = _CD_CHAIN,
    persistent: bool = False,
    n_particles: int = 256,
    alpha: float = 0.1,
    config: TrainConfig = TrainConfig(),
) -> FitResult:
    r"""Contrastive divergence (CD-:math:`k`) or persistent CD, with Langevin negatives.

    At every step the contrastive samples :math:`\bar y` are :math:`k` steps
    (``sampler.steps``) of :func:`ebmlab.samplers.langevin` on the current energy, started

    * at the minibatch's data points (CD-:math:`k`, Hinton 2002): the chains only explore near
      the data, so low-energy regions far from it are never pushed up;
    * at a set of ``n_particles`` particles that **persist** across updates (PCD, Tieleman
      2008), started uniformly in ``sampler.bounds``: over many updates they travel to
      wherever the energy is low, and push it up there.

    The parameters then take an Adam step on :func:`cd_loss`.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        Y: the data, ``(N, d)``.
        sampler: the Langevin chain of each update, a :class:`ebmlab.samplers.LangevinConfig`
            (its ``steps`` are :math:`k \ge 1`; its ``bounds``, the box the chains are clamped
            to and where the particles start, are required for PCD).
        persistent: PCD instead of CD.
        n_particles: number of persistent particles.
        alpha: weight of the energy regulariser of :func:`cd_loss`.
        config: steps, learning rate, batch size and seed of the minibatches, particles and
            Langevin noise.

    Returns:
        :class:`FitResult`; ``negatives`` holds the last samples (the particles, for PCD).
    """
    Y = _check_fit(model, Y, config)
    if not isinstance(sampler, LangevinConfig):
        raise TypeError(f"sampler must be a LangevinConfig; got {type(sampler).__name__}")
    if sampler.steps < 1:
        raise ValueError(f"sampler.steps (k) must be >= 1; got {sampler.steps}")
    if persistent and sampler.bounds is None:
        raise ValueError(
            "sampler.bounds must be given for persistent CD: the particles start in it"
        )
    g = generator(config.seed)
    negatives = None
    if persistent:
        lo, hi = sampler.bounds
        negatives = (lo + (hi - lo) * torch.rand(n_particles, Y.shape[1], generator=g)).to(Y)

    def loss(t, batch):
        nonlocal negatives
        start = negatives if persistent else batch
        negatives = _langevin(model, start, sampler, seed=_step_seed(config, t)).samples
        return _cd(model(batch), model(negatives), alpha)

    history = _fit(model, Y, config, g, loss)
    return FitResult(negatives, history)


@checked(low=Real(), high=Real(), nu=POSITIVE)
def fit_nce(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    low: float,
    high: float,
    nu: float = 4.0,
    config: TrainConfig = TrainConfig(),
) -> FitResult:
    r"""Noise-contrastive estimation with uniform noise on the box :math:`[low, high]^d`.

    The noise density is :math:`q = (high - low)^{-d}`; each step draws :math:`\nu` noise
    points per data point and takes an Adam step on :func:`nce_loss`. At the optimum
    :math:`e^{-E}` integrates to one over the box.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        Y: the data, ``(N, d)``, inside the box.
        low, high: the box of the noise.
        nu: noise points per data point, :math:`\nu > 0`.
        config: steps, learning rate, batch size and seed of the minibatches and the noise.
    """
    Y = _check_fit(model, Y, config)
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    g = generator(config.seed)
    d = Y.shape[1]
    log_q = -d * math.log(high - low)

    def loss(t, batch):
        u = torch.rand(max(1, round(nu * batch.shape[0])), d, generator=g)
        noise = (low + (high - low) * u).to(Y)
        return _nce(model(batch), model(noise), log_q, log_q)

    return FitResult(None, _fit(model, Y, config, g, loss))


@checked(noise_std=POSITIVE, margin=POSITIVE)
def fit_hinge(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    noise_std: float = 0.2,
    margin: float = 1.0,
    config: TrainConfig = TrainConfig(),
) -> FitResult:
    r"""Margin loss with contrastive points made by corrupting the data.

    Each data point :math:`y_i` is paired with :math:`\bar y_i = y_i + \sigma\varepsilon_i` (the
    lecture's "random kick") and :func:`hinge_loss` asks
    :math:`E(\bar y_i) \ge E(y_i) + m`.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        Y: the data, ``(N, d)``.
        noise_std: :math:`\sigma > 0` of the kick.
        margin: :math:`m > 0`.
        config: steps, learning rate, batch size and seed of the minibatches and the kicks.
    """
    Y = _check_fit(model, Y, config)
    g = generator(config.seed)

    def loss(t, batch):
        neg = batch + noise_std * torch.randn(batch.shape, generator=g).to(batch)
        return _hinge(model(batch), model(neg), margin)

    return FitResult(None, _fit(model, Y, config, g, loss))


@checked(h=POSITIVE, beta=POSITIVE)
def fit_mpf(
    model: torch.nn.Module,
    Y: torch.Tensor,
    *,
    h: float = 0.05,
    beta: float = 1.0,
    config: TrainConfig = TrainConfig(),
) -> FitResult:
    r"""Minimum probability flow with the :math:`2d` lattice neighbours :math:`y \pm h e_k`.

    The continuous space is treated as a lattice of spacing :math:`h`, each point connected to
    its :math:`2d` nearest neighbours, and the model minimises :func:`mpf_loss`. No sampling and
    no partition function: only the energies of the data and of their neighbours.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        Y: the data, ``(N, d)``.
        h: lattice spacing :math:`h > 0`.
        beta: inverse temperature :math:`\beta > 0`.
        config: steps, learning rate, batch size and seed of the minibatches.
    """
    Y = _check_fit(model, Y, config)
    d = Y.shape[1]
    offsets = torch.cat([torch.eye(d), -torch.eye(d)]).to(Y) * h  # (2d, d)

    def loss(t, batch):
        nbrs = (batch[:, None, :] + offsets[None]).reshape(-1, d)
        e_nbrs = model(nbrs).reshape(batch.shape[0], 2 * d)
        return _mpf(model(batch), e_nbrs, beta)

    return FitResult(None, _fit(model, Y, config, generator(config.seed), loss))
