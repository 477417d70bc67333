r"""The training loops of :mod:`ebmlab.training`: Adam on the losses of :mod:`.losses`.

Each ``fit_*`` function trains a model in place on minibatches drawn from a seeded generator and
returns a :class:`~ebmlab.training.FitResult`. Negative samples come from
:mod:`ebmlab.samplers`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..energy import grid_2d
from ..runtime import generator
from ..samplers import _check_bounds, langevin
from .losses import cd_loss, dae_loss, hinge_loss, mpf_loss, nce_loss, nll_loss
from .models import FitResult

__all__ = ["fit_ml_grid", "fit_dae", "fit_cd", "fit_nce", "fit_hinge", "fit_mpf"]


# --------------------------------------------------------------------------- training loops


def _check_fit(model, data, steps, lr, batch_size, seed):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    data = as_tensor(data, "data", ndim=2)
    steps = check_int(steps, "steps", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    batch_size = check_int(batch_size, "batch_size", low=1)
    return data, steps, lr, batch_size, generator(check_seed(seed))


def _batch(data: torch.Tensor, batch_size: int, g: torch.Generator) -> torch.Tensor:
    if batch_size >= data.shape[0]:
        return data
    idx = torch.randint(0, data.shape[0], (batch_size,), generator=g).to(data.device)
    return data[idx]


def _loop(model, steps, lr, step_loss) -> torch.Tensor:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = torch.empty(steps)
    for t in range(steps):
        loss = step_loss(t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[t] = loss.detach().cpu()
    return losses


def fit_ml_grid(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    low: float,
    high: float,
    n: int = 64,
    beta: float = 1.0,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Maximum likelihood for a 2-D energy, with the partition function summed on a grid.

    Minimises :func:`nll_loss` with :math:`\int e^{-\beta E}` replaced by the sum over the
    :math:`n \times n` cell centres of :func:`ebmlab.energy.grid_2d` on
    :math:`[low, high]^2` (cell area :math:`\Delta = ((high-low)/n)^2`). Exact up to the grid's
    resolution — tractable only because :math:`y` has two dimensions.

    Args:
        model: the energy, ``(B, 2) -> (B,)``, trained in place.
        data: ``(N, 2)``, inside the box.
        low, high: the box.
        n: grid points per side.
        beta: inverse temperature :math:`\beta > 0`.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches.
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    if data.shape[1] != 2:
        raise ValueError(f"data must have shape (N, 2) for a 2-D grid; got {tuple(data.shape)}")
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    _, _, grid = grid_2d(low, high, n, dtype=data.dtype, device=data.device)
    cell = ((high - low) / n) ** 2

    def step(_):
        return nll_loss(model(_batch(data, batch_size, g)), model(grid), beta, cell)

    return FitResult(_loop(model, steps, lr, step), None)


def fit_dae(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    noise_std: float = 0.1,
    steps: int = 1500,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Train a denoising autoencoder with :func:`dae_loss` (fresh corruption at every step).

    Args:
        model: ``(B, d) -> (B, d)``, e.g. :class:`DenoisingAutoencoder`, trained in place.
        data: clean points, ``(N, d)``.
        noise_std: :math:`\sigma > 0` of the Gaussian corruption.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches and the corruption.
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    noise_std = check_scalar(noise_std, "noise_std", low=0.0, low_open=True)
    base = 0 if seed is None else seed

    def step(t):
        return dae_loss(model, _batch(data, batch_size, g), noise_std, seed=base * 100_003 + t)

    return FitResult(_loop(model, steps, lr, step), None)


def fit_cd(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    k: int = 10,
    step_size: float = 0.01,
    noise_scale: float | None = None,
    persistent: bool = False,
    n_particles: int = 256,
    bounds: tuple[float, float] | None = None,
    alpha: float = 0.1,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Contrastive divergence (CD-:math:`k`) or persistent CD, with Langevin negatives.

    At every step the contrastive samples :math:`\bar y` are :math:`k` steps of
    :func:`ebmlab.samplers.langevin` on the current energy, started

    * at the minibatch's data points (CD-:math:`k`, Hinton 2002): the chains only explore near
      the data, so low-energy regions far from it are never pushed up;
    * at a set of ``n_particles`` particles that **persist** across updates (PCD, Tieleman
      2008), started uniformly in ``bounds``: over many updates they travel to wherever the
      energy is low, and push it up there.

    The parameters then take an Adam step on :func:`cd_loss`.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        data: ``(N, d)``.
        k: Langevin steps per update, :math:`k \ge 1`.
        step_size: Langevin step :math:`\eta > 0`.
        noise_scale: Langevin noise :math:`\sigma` (``None``: :math:`\sqrt{2\eta}`).
        persistent: PCD instead of CD.
        n_particles: number of persistent particles.
        bounds: box the chains are clamped to (and where the particles start); required for PCD.
        alpha: weight of the energy regulariser of :func:`cd_loss`.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches, particles and Langevin noise.

    Returns:
        :class:`FitResult`; ``negatives`` holds the last samples (the particles, for PCD).
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    k = check_int(k, "k", low=1)
    step_size = check_scalar(step_size, "step_size", low=0.0, low_open=True)
    if not isinstance(persistent, bool):
        raise TypeError(f"persistent must be a bool; got {type(persistent).__name__}")
    n_particles = check_int(n_particles, "n_particles", low=1)
    if noise_scale is not None:
        check_scalar(noise_scale, "noise_scale", low=0.0)
    _check_bounds(bounds)
    check_scalar(alpha, "alpha", low=0.0)
    if persistent and bounds is None:
        raise ValueError("bounds must be given for persistent CD: the particles start in it")
    base = 0 if seed is None else seed
    particles = None
    if persistent:
        lo, hi = bounds
        particles = lo + (hi - lo) * torch.rand(n_particles, data.shape[1], generator=g)
        particles = particles.to(data)
    state = {"neg": None}

    def step(t):
        batch = _batch(data, batch_size, g)
        start = state["neg"] if persistent and state["neg"] is not None else particles
        if not persistent:
            start = batch
        neg = langevin(
            model,
            start,
            steps=k,
            step_size=step_size,
            noise_scale=noise_scale,
            bounds=bounds,
            seed=base * 100_003 + t,
        ).samples
        state["neg"] = neg
        return cd_loss(model(batch), model(neg), alpha)

    losses = _loop(model, steps, lr, step)
    return FitResult(losses, state["neg"])


def _uniform_box(n, d, low, high, g, like):
    return (low + (high - low) * torch.rand(n, d, generator=g)).to(like)


def fit_nce(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    low: float,
    high: float,
    nu: float = 4.0,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Noise-contrastive estimation with uniform noise on the box :math:`[low, high]^d`.

    The noise density is :math:`q = (high - low)^{-d}`; each step draws :math:`\nu` noise
    points per data point and takes an Adam step on :func:`nce_loss`. At the optimum
    :math:`e^{-E}` integrates to one over the box.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        data: ``(N, d)``, inside the box.
        low, high: the box of the noise.
        nu: noise points per data point, :math:`\nu > 0`.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches and the noise.
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    low = check_scalar(low, "low")
    high = check_scalar(high, "high")
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    nu = check_scalar(nu, "nu", low=0.0, low_open=True)
    d = data.shape[1]
    log_q = -d * math.log(high - low)

    def step(_):
        batch = _batch(data, batch_size, g)
        noise = _uniform_box(max(1, round(nu * batch.shape[0])), d, low, high, g, data)
        return nce_loss(model(batch), model(noise), log_q, log_q)

    return FitResult(_loop(model, steps, lr, step), None)


def fit_hinge(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    noise_std: float = 0.2,
    margin: float = 1.0,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Margin loss with contrastive points made by corrupting the data.

    Each data point :math:`y_i` is paired with :math:`\bar y_i = y_i + \sigma\varepsilon_i` (the
    lecture's "random kick") and :func:`hinge_loss` asks
    :math:`E(\bar y_i) \ge E(y_i) + m`.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        data: ``(N, d)``.
        noise_std: :math:`\sigma > 0` of the kick.
        margin: :math:`m > 0`.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches and the kicks.
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    noise_std = check_scalar(noise_std, "noise_std", low=0.0, low_open=True)
    margin = check_scalar(margin, "margin", low=0.0, low_open=True)

    def step(_):
        batch = _batch(data, batch_size, g)
        neg = batch + noise_std * torch.randn(batch.shape, generator=g).to(batch)
        return hinge_loss(model(batch), model(neg), margin)

    return FitResult(_loop(model, steps, lr, step), None)


def fit_mpf(
    model: torch.nn.Module,
    data: torch.Tensor,
    *,
    h: float = 0.05,
    beta: float = 1.0,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int | None = 0,
) -> FitResult:
    r"""Minimum probability flow with the :math:`2d` lattice neighbours :math:`y \pm h e_k`.

    The continuous space is treated as a lattice of spacing :math:`h`, each point connected to
    its :math:`2d` nearest neighbours, and the model minimises :func:`mpf_loss`. No sampling and
    no partition function: only the energies of the data and of their neighbours.

    Args:
        model: the energy, ``(B, d) -> (B,)``, trained in place.
        data: ``(N, d)``.
        h: lattice spacing :math:`h > 0`.
        beta: inverse temperature :math:`\beta > 0`.
        steps, lr, batch_size: Adam steps, learning rate, data per step.
        seed: seed of the minibatches.
    """
    data, steps, lr, batch_size, g = _check_fit(model, data, steps, lr, batch_size, seed)
    h = check_scalar(h, "h", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    d = data.shape[1]
    offsets = torch.cat([torch.eye(d), -torch.eye(d)]).to(data) * h  # (2d, d)

    def step(_):
        batch = _batch(data, batch_size, g)
        nbrs = (batch[:, None, :] + offsets[None]).reshape(-1, d)
        e_nbrs = model(nbrs).reshape(batch.shape[0], 2 * d)
        return mpf_loss(model(batch), e_nbrs, beta)

    return FitResult(_loop(model, steps, lr, step), None)
