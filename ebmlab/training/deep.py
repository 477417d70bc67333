r"""A deep energy on images, trained by contrastive divergence with a replay buffer.

Du and Mordatch (2019) train a convolutional energy :math:`E_\theta(y)` on images with the
contrastive-divergence loss of :func:`~ebmlab.training.cd_loss`, its negatives made by a short
Langevin chain (:func:`ebmlab.samplers.langevin`). Two devices make it work:

* a **replay buffer** of past negatives: each chain starts from a stored sample (continuing an
  earlier chain, as in persistent CD) or, for a small share, from fresh noise, so that the
  chains run long in total but only a few steps per update;
* the **regulariser** :math:`\alpha(E_+^2 + E_-^2)`, which keeps the energies near zero: the
  loss :math:`E_+ - E_-` is unbounded below and, without it, both energies drift without limit.

Gradients are clipped twice: the chain's per-sample gradient (``LangevinConfig.grad_clip``) and
the parameters' gradient norm (:class:`DeepEBMConfig`'s ``clip_grad``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from .. import samplers
from .._validation import Int, Real, Seed, Tensor, as_tensor, check_fields, check_int, checked
from ..base import History
from ..optim import minibatches, train
from ..runtime import generator
from ..samplers import LangevinConfig
from ._checks import POSITIVE
from .losses import cd_loss
from .models import _check_batch

__all__ = [
    "ConvEnergy",
    "ReplayBuffer",
    "replay_sample",
    "DeepEBMConfig",
    "DeepEBMResult",
    "fit_deep_ebm",
]

_langevin = samplers.langevin.__wrapped__
_cd = cd_loss.__wrapped__
_SHARE = Real(low=0.0, high=1.0)
# 20 steps on images in [0, 1]: the default chain of fit_deep_ebm
_CHAIN = LangevinConfig(steps=20, step_size=1.0, noise_scale=0.01, grad_clip=0.1, bounds=(0.0, 1.0))


class ConvEnergy(nn.Module):
    r"""A small convolutional energy :math:`E_\theta(y)` of square one-channel images.

    Three 3 × 3 convolutions (the last two of stride 2) with SiLU activations, then a linear
    map to one number. SiLU, not ReLU: Langevin dynamics needs a smooth :math:`\nabla_y E`.

    Args:
        side: the images' side (8 for the digits); the input is flat, ``(B, side * side)``.
        channels: channels of the first convolution (the others have twice as many).
    """

    def __init__(self, side: int = 8, channels: int = 16):
        super().__init__()
        self.side = check_int(side, "side", low=4)
        c = check_int(channels, "channels", low=1)
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(2 * c * ((self.side + 3) // 4) ** 2, 1),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Energies of a batch of flat images: ``(B, side * side) -> (B,)``."""
        _check_batch(y, self.side**2)
        return self.net(y.reshape(-1, 1, self.side, self.side)).squeeze(-1)


def _replay(buffer, n, reinit, low, high, g):
    idx = torch.randint(0, buffer.shape[0], (n,), generator=g)
    start = buffer[idx.to(buffer.device)].clone()
    k = round(reinit * n)
    if k:
        u = torch.rand(k, buffer.shape[1], generator=g, dtype=buffer.dtype)
        start[:k] = (low + (high - low) * u).to(start)
    return start, idx


@checked(
    buffer=Tensor(2),
    n=Int(low=1),
    reinit=_SHARE,
    low=Real(),
    high=Real(),
    seed=Seed(),
)
def replay_sample(
    buffer: torch.Tensor,
    n: int,
    reinit: float = 0.05,
    low: float = 0.0,
    high: float = 1.0,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The starting points of ``n`` chains: rows of the buffer, a share of them fresh noise.

    With ``g = ebmlab.generator(seed)``: draw ``idx = torch.randint(0, M, (n,), generator=g)``,
    take ``buffer[idx]``, and replace its first :math:`k = \mathrm{round}(\rho n)` rows by
    :math:`\mathrm{low} + (\mathrm{high} - \mathrm{low})\,u`,
    ``u = torch.rand(k, d, generator=g)``. The buffer itself is not changed.

    Args:
        buffer: the stored samples, ``(M, d)``, :math:`M \ge 1`.
        n: number of chains.
        reinit: the share :math:`\rho \in [0, 1]` restarted from uniform noise.
        low, high: the noise's box.
        seed: seed of the draws.

    Returns:
        ``(start, idx)``: the starting points ``(n, d)`` and the buffer rows they came from
        ``(n,)`` (int64, on the CPU) — where the chains' ends go back.
    """
    if not high > low:
        raise ValueError(f"high must be greater than low; got low={low}, high={high}")
    return _replay(buffer, n, reinit, low, high, generator(seed))


class ReplayBuffer:
    r"""A fixed-size store of past negative samples (Du and Mordatch, 2019).

    It starts as uniform noise in ``[low, high]``; :meth:`sample` draws chain starts with
    :func:`replay_sample`'s rule and :meth:`push` writes the chains' ends back in their rows,
    so the buffer never grows.

    Args:
        size: number of stored samples :math:`M \ge 1`.
        dim: dimension of a sample.
        reinit: share of each draw restarted from noise, in :math:`[0, 1]`.
        low, high: the noise's box.
        seed: seed of the initial noise and of every later draw.
    """

    @checked(size=Int(low=1), dim=Int(low=1), reinit=_SHARE, low=Real(), high=Real(), seed=Seed())
    def __init__(self, size, dim, reinit=0.05, low=0.0, high=1.0, seed=0):
        if not high > low:
            raise ValueError(f"high must be greater than low; got low={low}, high={high}")
        self.reinit, self.low, self.high = reinit, low, high
        self.generator = generator(seed)
        self.data = low + (high - low) * torch.rand(size, dim, generator=self.generator)

    def __len__(self) -> int:
        return self.data.shape[0]

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` chain starts and their rows: ``(start, idx)``."""
        n = check_int(n, "n", low=1)
        return _replay(self.data, n, self.reinit, self.low, self.high, self.generator)

    def push(self, idx: torch.Tensor, samples: torch.Tensor) -> None:
        """Store the chains' ends ``samples`` ``(n, dim)`` in the rows ``idx`` ``(n,)``."""
        if not isinstance(samples, torch.Tensor) or samples.shape != (len(idx), self.data.shape[1]):
            got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else samples
            raise ValueError(
                f"samples must have shape ({len(idx)}, {self.data.shape[1]}); got {got}"
            )
        self.data[idx] = samples.detach().to(self.data)


@dataclass(frozen=True, kw_only=True)
class DeepEBMConfig:
    r"""How :func:`fit_deep_ebm` trains (checked when it is made).

    Args:
        steps: parameter updates.
        lr: Adam's learning rate.
        batch_size: data points (and chains) per update.
        seed: seed of the minibatches, the buffer and the Langevin noise.
        buffer_size: samples in the replay buffer; 0 for none (every chain starts from noise).
        reinit: share of chains restarted from noise at each update.
        alpha: weight :math:`\alpha \ge 0` of the regulariser :math:`\alpha(E_+^2 + E_-^2)`.
        clip_grad: largest norm of the parameters' gradient (``None``: no clipping).
    """

    steps: int = 300
    lr: float = 1e-3
    batch_size: int = 64
    seed: int | None = 0
    buffer_size: int = 1000
    reinit: float = 0.05
    alpha: float = 1.0
    clip_grad: float | None = 1.0

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "steps": Int(low=1),
                "lr": POSITIVE,
                "batch_size": Int(low=1),
                "seed": Seed(),
                "buffer_size": Int(low=0),
                "reinit": _SHARE,
                "alpha": Real(low=0.0),
                "clip_grad": Real(low=0.0, low_open=True, optional=True),
            },
        )


class DeepEBMResult(NamedTuple):
    """What :func:`fit_deep_ebm` returns (the model itself is trained in place)."""

    samples: torch.Tensor
    """The replay buffer at the end, ``(buffer_size, d)`` (the last negatives without one)."""
    history: History
    """The curves, one entry per update, ``loss``, ``energy_data`` (mean :math:`E_+`) and
    ``energy_samples`` (mean :math:`E_-`)."""


class _Clipped:
    """An optimiser that clips the parameters' gradient norm before each step."""

    def __init__(self, opt: torch.optim.Optimizer, params, clip: float | None):
        self.opt, self.params, self.clip = opt, list(params), clip

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        if self.clip is not None:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()


def fit_deep_ebm(
    model: nn.Module,
    Y: torch.Tensor,
    *,
    sampler: LangevinConfig = _CHAIN,
    config: DeepEBMConfig = DeepEBMConfig(),
) -> DeepEBMResult:
    r"""Contrastive divergence with short-run Langevin from a replay buffer.

    At each update: draw a minibatch :math:`y_i` and as many chain starts (from the buffer,
    ``reinit`` of them from uniform noise in ``sampler.bounds``), run ``sampler.steps`` Langevin
    steps on the current energy to get the negatives :math:`\bar y_j`, store them back, and take
    an Adam step on

    .. math:: \frac1N\sum_i E(y_i) - \frac1N\sum_j E(\bar y_j)
              + \alpha\Big(\frac1N\sum_i E(y_i)^2 + \frac1N\sum_j E(\bar y_j)^2\Big).

    Args:
        model: the energy ``(B, d) -> (B,)``, e.g. :class:`ConvEnergy`, trained in place.
        Y: the data, ``(N, d)``, inside ``sampler.bounds``.
        sampler: the chain of each update, a :class:`~ebmlab.samplers.LangevinConfig` whose
            ``bounds`` are required (the noise's box).
        config: a :class:`DeepEBMConfig`.

    Returns:
        :class:`DeepEBMResult`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(config, DeepEBMConfig):
        raise TypeError(f"config must be a DeepEBMConfig; got {type(config).__name__}")
    Y = as_tensor(Y, "Y", ndim=2)
    if not isinstance(sampler, LangevinConfig):
        raise TypeError(f"sampler must be a LangevinConfig; got {type(sampler).__name__}")
    if sampler.bounds is None:
        raise ValueError("sampler.bounds must be given: chains restart from noise in that box")
    c, (lo, hi) = config, sampler.bounds
    buffer = ReplayBuffer(max(c.buffer_size, 1), Y.shape[1], c.reinit, lo, hi, c.seed)
    g = buffer.generator
    last = buffer.data

    def step(t):
        nonlocal last
        (rows,) = minibatches(Y.shape[0], c.batch_size, g, replacement=True)
        batch = Y[rows.to(Y.device)]
        if c.buffer_size:
            start, idx = buffer.sample(batch.shape[0])
        else:
            start = lo + (hi - lo) * torch.rand(batch.shape, generator=g)
        seed = (0 if c.seed is None else c.seed) * 100_003 + t
        last = _langevin(model, start.to(Y), sampler, seed=seed).samples
        if c.buffer_size:
            buffer.push(idx, last)
        ep, en = model(batch), model(last)
        loss = _cd(ep, en, c.alpha)
        return loss, {"loss": loss, "energy_data": ep.mean(), "energy_samples": en.mean()}

    opt = _Clipped(torch.optim.Adam(model.parameters(), lr=c.lr), model.parameters(), c.clip_grad)
    history = train(step, opt, [range(c.steps)])
    return DeepEBMResult(buffer.data if c.buffer_size else last.detach(), history)
