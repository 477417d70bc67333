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

Each loss is a small pure function of energies; the ``fit_*`` functions are plain training loops
around them (Adam, minibatches drawn from a seeded generator) that return a :class:`FitResult`.
Negative samples come from :mod:`ebmlab.samplers`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from .energy import free_energy, gibbs, grid_2d
from .runtime import generator
from .samplers import _check_bounds, langevin

__all__ = [
    "MLPEnergy",
    "DenoisingAutoencoder",
    "FitResult",
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


# --------------------------------------------------------------------------- models


class MLPEnergy(nn.Module):
    r"""A scalar energy :math:`E_W(y)` computed by a small multilayer perceptron.

    .. math:: E_W(y) = w_L^\top \phi\big(\cdots \phi(W_1 y + b_1)\cdots\big) + b_L

    with :math:`\phi` the SiLU, a smooth activation: Langevin dynamics and HMC need
    :math:`\nabla_y E` to be continuous. The output bias :math:`b_L` lets the model shift its
    energies, which noise-contrastive estimation uses to learn the normalisation.

    Args:
        dim: dimension of :math:`y`.
        hidden: width of the hidden layers.
        depth: number of hidden layers (at least 1).
    """

    def __init__(self, dim: int = 2, hidden: int = 64, depth: int = 2):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        depth = check_int(depth, "depth", low=1)
        layers: list[nn.Module] = []
        width = self.dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Energies of a batch: ``(B, dim) -> (B,)``."""
        if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] != self.dim:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"y must have shape (B, {self.dim}); got {got}")
        return self.net(y).squeeze(-1)


class DenoisingAutoencoder(nn.Module):
    r"""An autoencoder whose reconstruction error is an energy.

    .. math:: E(y) = \|y - \mathrm{Dec}(\mathrm{Enc}(y))\|^2

    Trained to map corrupted points :math:`\tilde y = y + \sigma\varepsilon` back to the clean
    :math:`y` (:func:`dae_loss`), its reconstruction moves every point towards the data manifold;
    the energy is the squared length of that move, which grows quadratically with the distance
    from the manifold.

    Args:
        dim: dimension of :math:`y`.
        hidden: width of the hidden layers.
        code: dimension of the code :math:`\mathrm{Enc}(y)`.
    """

    def __init__(self, dim: int = 2, hidden: int = 64, code: int = 16):
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        code = check_int(code, "code", low=1)
        self.encoder = nn.Sequential(
            nn.Linear(self.dim, hidden), nn.SiLU(), nn.Linear(hidden, code), nn.SiLU()
        )
        self.decoder = nn.Sequential(
            nn.Linear(code, hidden), nn.SiLU(), nn.Linear(hidden, self.dim)
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """The reconstruction :math:`\\mathrm{Dec}(\\mathrm{Enc}(y))`, ``(B, dim)``."""
        if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] != self.dim:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"y must have shape (B, {self.dim}); got {got}")
        return self.decoder(self.encoder(y))

    def energy(self, y: torch.Tensor) -> torch.Tensor:
        """The reconstruction energy :math:`\\|y - \\mathrm{Dec}(\\mathrm{Enc}(y))\\|^2`, ``(B,)``."""
        return ((y - self(y)) ** 2).sum(dim=1)


class FitResult(NamedTuple):
    """What a ``fit_*`` function returns (the model itself is trained in place)."""

    losses: torch.Tensor
    """The training loss at every step, ``(steps,)``."""
    negatives: torch.Tensor | None
    """The last contrastive points (the persistent particles for PCD), or ``None``."""


# --------------------------------------------------------------------------- losses


def _energies_1d(e, name: str) -> torch.Tensor:
    return as_tensor(e, name, ndim=1)


def nll_loss(
    energy_data: torch.Tensor,
    energy_grid: torch.Tensor,
    beta: float = 1.0,
    cell: float = 1.0,
) -> torch.Tensor:
    r"""Negative log-likelihood of the data under the Gibbs density, with :math:`Z` on a grid.

    .. math:: \mathcal L(W) = \frac1N\sum_{i=1}^N E_W(Y_i)
              + \frac1\beta\log\int_y e^{-\beta E_W(y)}\,dy,
              \qquad \int_y \approx \sum_j \Delta\,(\cdot)(y_j)

    This is :math:`-\frac1\beta\log P_W(Y)` averaged over the data, with
    :math:`P_W = e^{-\beta E_W}/\int e^{-\beta E_W}`. Note the **log** in front of the integral
    (ERRATA 1 of the source notes). The second term is minus the free energy
    :func:`ebmlab.energy.free_energy` of the whole space; it is computed by a stable
    log-sum-exp.

    Args:
        energy_data: :math:`E_W(Y_i)` at the data, ``(N,)``.
        energy_grid: :math:`E_W(y_j)` at every point of a grid covering the space, ``(M,)``.
        beta: inverse temperature :math:`\beta > 0`.
        cell: the volume :math:`\Delta` of one grid cell (only shifts the loss by
            :math:`\frac1\beta\log\Delta`; it does not change the gradient).

    Returns:
        The scalar loss.
    """
    ed = _energies_1d(energy_data, "energy_data")
    eg = _energies_1d(energy_grid, "energy_grid")
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    cell = check_scalar(cell, "cell", low=0.0, low_open=True)
    return ed.mean() - free_energy(eg, beta, dz=cell)


def nll_gradient(
    energy: Callable[[torch.Tensor], torch.Tensor],
    params: Sequence[torch.Tensor],
    data: torch.Tensor,
    grid: torch.Tensor,
    beta: float = 1.0,
) -> tuple[torch.Tensor, ...]:
    r"""The gradient of :func:`nll_loss` by the lecture's formula, not by differentiating the log.

    .. math:: \frac{\partial\mathcal L}{\partial W}
              = \frac1N\sum_i \frac{\partial E_W(Y_i)}{\partial W}
              - \sum_j P_W(y_j)\,\frac{\partial E_W(y_j)}{\partial W},
              \qquad P_W(y_j) = \frac{e^{-\beta E_W(y_j)}}{\sum_k e^{-\beta E_W(y_k)}}

    The first term pushes the energy down at the data; the second pushes it up everywhere,
    weighted by the model's own probability — hardest where the model puts mass it should not.
    :math:`P_W` is a constant here (no gradient flows through it); only
    :math:`\partial E/\partial W` is taken with autograd.

    Args:
        energy: callable ``(B, d) -> (B,)`` depending on ``params``.
        params: the parameters :math:`W` to differentiate (tensors with ``requires_grad``).
        data: the data :math:`Y_i`, ``(N, d)``.
        grid: the grid points :math:`y_j`, ``(M, d)``.
        beta: inverse temperature :math:`\beta > 0`.

    Returns:
        One gradient per parameter, in the order of ``params``.
    """
    check_callable(energy, "energy")
    if isinstance(params, (str, torch.Tensor)) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a sequence of tensors (model.parameters()); got {type(params).__name__}"
        )
    params = list(params)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("params must be a non-empty sequence of tensors with requires_grad=True")
    Y = as_tensor(data, "data", ndim=2)
    G = as_tensor(grid, "grid", ndim=2)
    if G.shape[1] != Y.shape[1]:
        raise ValueError(
            f"grid must have {Y.shape[1]} columns like data; got shape {tuple(G.shape)}"
        )
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    with torch.enable_grad():
        e_grid = energy(G)
        weights = gibbs(e_grid.detach(), beta)  # P_W(y_j), held fixed
        surrogate = energy(Y).mean() - (weights * e_grid).sum()
        grads = torch.autograd.grad(surrogate, params, allow_unused=True)
    return tuple(torch.zeros_like(p) if g is None else g for p, g in zip(params, grads))


def dae_loss(
    model: Callable[[torch.Tensor], torch.Tensor],
    y: torch.Tensor,
    noise_std: float,
    seed: int | None = None,
) -> torch.Tensor:
    r"""Denoising loss: reconstruct the clean point from a corrupted copy.

    .. math:: \mathcal L = \frac1N\sum_i \big\|y_i - \mathrm{Dec}(\mathrm{Enc}(y_i + \sigma
              \varepsilon_i))\big\|^2,\qquad \varepsilon_i\sim\mathcal N(0, I)

    The corrupted points are the contrastive points: the model learns to give them a large
    reconstruction error (the distance back to :math:`y_i`), hence a high energy.

    Args:
        model: the autoencoder, ``(B, d) -> (B, d)``.
        y: clean points, ``(N, d)``.
        noise_std: :math:`\sigma > 0`.
        seed: seed of the corruption.

    Returns:
        The scalar loss.
    """
    check_callable(model, "model")
    y = as_tensor(y, "y", ndim=2)
    noise_std = check_scalar(noise_std, "noise_std", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    noisy = y + noise_std * torch.randn(y.shape, generator=g, dtype=y.dtype).to(y.device)
    return ((model(noisy) - y) ** 2).sum(dim=1).mean()


def cd_loss(energy_pos: torch.Tensor, energy_neg: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
    r"""The contrastive-divergence loss: down on the data, up on the contrastive samples.

    .. math:: \mathcal L = \frac1N\sum_i E(y_i) - \frac1M\sum_j E(\bar y_j)
              + \alpha\Big(\frac1N\sum_i E(y_i)^2 + \frac1M\sum_j E(\bar y_j)^2\Big)

    Its gradient is the maximum-likelihood gradient of :func:`nll_gradient` with the expectation
    under :math:`P_W` replaced by an average over the samples :math:`\bar y_j`. The loss itself
    is unbounded below; the small :math:`\alpha` term keeps the energies near zero.

    Args:
        energy_pos: energies of the data, ``(N,)``.
        energy_neg: energies of the contrastive samples, ``(M,)``.
        alpha: weight :math:`\alpha \ge 0` of the energy regulariser.
    """
    ep = _energies_1d(energy_pos, "energy_pos")
    en = _energies_1d(energy_neg, "energy_neg")
    alpha = check_scalar(alpha, "alpha", low=0.0)
    return ep.mean() - en.mean() + alpha * ((ep**2).mean() + (en**2).mean())


def hinge_loss(
    energy_pos: torch.Tensor, energy_neg: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
    r"""Margin (hinge) loss on pairs: the contrastive point must be ``margin`` higher.

    .. math:: \mathcal L = \frac1N\sum_i \big[m + E(y_i) - E(\bar y_i)\big]_+

    Once a pair is separated by the margin it gives no gradient, so, unlike
    :func:`cd_loss`, the energies cannot run off to infinity.

    Args:
        energy_pos: energies of the data, ``(N,)``.
        energy_neg: energies of the contrastive points, paired with the data, ``(N,)``.
        margin: :math:`m > 0`.
    """
    ep = _energies_1d(energy_pos, "energy_pos")
    en = _energies_1d(energy_neg, "energy_neg")
    if en.shape != ep.shape:
        raise ValueError(
            f"energy_neg must pair with energy_pos, shape {tuple(ep.shape)}; got {tuple(en.shape)}"
        )
    margin = check_scalar(margin, "margin", low=0.0, low_open=True)
    return F.relu(margin + ep - en).mean()


def nce_loss(
    energy_data: torch.Tensor,
    energy_noise: torch.Tensor,
    log_q_data: torch.Tensor | float,
    log_q_noise: torch.Tensor | float,
) -> torch.Tensor:
    r"""Noise-contrastive estimation: tell the data from samples of a known noise density.

    With :math:`\nu = M/N` noise samples per data point and the log-odds
    :math:`G(y) = -E(y) - \log q(y) - \log\nu`, logistic regression of data (label 1) against
    noise (label 0) gives

    .. math:: \mathcal L = \frac1N\sum_i \log\big(1 + e^{-G(y_i)}\big)
              + \frac{\nu}{M}\sum_j \log\big(1 + e^{G(\bar y_j)}\big).

    Its minimiser is :math:`e^{-E} = p_{\text{data}}`: the model learns a *normalised* density
    (the energy's bias plays the part of :math:`\log Z`) without ever computing :math:`Z`.

    Args:
        energy_data: energies of the data, ``(N,)``.
        energy_noise: energies of the noise samples, ``(M,)``.
        log_q_data: :math:`\log q` at the data (``(N,)`` or a number).
        log_q_noise: :math:`\log q` at the noise samples (``(M,)`` or a number).
    """
    ed = _energies_1d(energy_data, "energy_data")
    en = _energies_1d(energy_noise, "energy_noise")
    lqd = as_tensor(log_q_data, "log_q_data", ndim=(0, 1)).to(ed)
    lqn = as_tensor(log_q_noise, "log_q_noise", ndim=(0, 1)).to(en)
    if lqd.ndim == 1 and lqd.shape != ed.shape:
        raise ValueError(f"log_q_data must have shape {tuple(ed.shape)}; got {tuple(lqd.shape)}")
    if lqn.ndim == 1 and lqn.shape != en.shape:
        raise ValueError(f"log_q_noise must have shape {tuple(en.shape)}; got {tuple(lqn.shape)}")
    log_nu = math.log(en.shape[0] / ed.shape[0])
    g_data = -ed - lqd - log_nu
    g_noise = -en - lqn - log_nu
    nu = en.shape[0] / ed.shape[0]
    return F.softplus(-g_data).mean() + nu * F.softplus(g_noise).mean()


def mpf_loss(
    energy_data: torch.Tensor, energy_neighbours: torch.Tensor, beta: float = 1.0
) -> torch.Tensor:
    r"""Minimum probability flow: the initial flow of probability out of the data states.

    For a discrete space with a symmetric connectivity (each data state :math:`y_i` connected to
    its neighbours :math:`y_{ik}`), the flow that would start leaving the data distribution under
    dynamics that converge to the model is

    .. math:: K = \frac1N\sum_i \sum_k \exp\Big(\frac\beta2\big(E(y_i) - E(y_{ik})\big)\Big).

    It is small when every data state has a lower energy than its neighbours, and its expected
    gradient vanishes at the true model; no partition function appears.

    Args:
        energy_data: :math:`E(y_i)`, ``(N,)``.
        energy_neighbours: :math:`E(y_{ik})`, ``(N, K)``.
        beta: inverse temperature :math:`\beta > 0`.
    """
    ed = _energies_1d(energy_data, "energy_data")
    en = as_tensor(energy_neighbours, "energy_neighbours", ndim=2)
    if en.shape[0] != ed.shape[0]:
        raise ValueError(
            f"energy_neighbours must have {ed.shape[0]} rows like energy_data; got {tuple(en.shape)}"
        )
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    return torch.exp(0.5 * beta * (ed[:, None] - en)).sum(dim=1).mean()


def ratio_matching_loss(energy_data: torch.Tensor, energy_flipped: torch.Tensor) -> torch.Tensor:
    r"""Ratio matching for binary vectors (Hyvärinen, 2007).

    For :math:`y \in \{0, 1\}^D` and :math:`\bar y^{(d)}` the vector with bit :math:`d` flipped,
    ratio matching fits the ratios :math:`p(y)/p(\bar y^{(d)}) = e^{E(\bar y^{(d)}) - E(y)}`,
    in which :math:`Z` cancels:

    .. math:: \mathcal L = \frac1N\sum_i\sum_{d=1}^D
              \sigma\big(E(y_i) - E(\bar y_i^{(d)})\big)^2,
              \qquad \sigma(u) = \frac1{1 + e^{-u}}.

    Each term is small when the data point has a lower energy than its one-bit neighbours.

    Args:
        energy_data: :math:`E(y_i)`, ``(N,)``.
        energy_flipped: :math:`E(\bar y_i^{(d)})`, ``(N, D)``.
    """
    ed = _energies_1d(energy_data, "energy_data")
    ef = as_tensor(energy_flipped, "energy_flipped", ndim=2)
    if ef.shape[0] != ed.shape[0]:
        raise ValueError(
            f"energy_flipped must have {ed.shape[0]} rows like energy_data; got {tuple(ef.shape)}"
        )
    return (torch.sigmoid(ed[:, None] - ef) ** 2).sum(dim=1).mean()


def mask_tokens(
    tokens: torch.Tensor, mask_prob: float, mask_id: int, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Corrupt sequences by masking tokens, as BERT does (a discrete denoising autoencoder).

    Each position is replaced by ``mask_id`` with probability ``mask_prob``; every sequence gets
    at least one masked position, so every row contributes to :func:`masked_token_loss`.

    Args:
        tokens: integer sequences, ``(N, L)``.
        mask_prob: probability :math:`0 < \rho \le 1` of masking a position.
        mask_id: the token that stands for "masked" (not a token of the data).
        seed: seed of the mask.

    Returns:
        ``(corrupted tokens (N, L), mask (N, L) bool)``.
    """
    t = as_tensor(tokens, "tokens", ndim=2, integer=True)
    mask_prob = check_scalar(mask_prob, "mask_prob", low=0.0, low_open=True, high=1.0)
    mask_id = check_int(mask_id, "mask_id")
    if bool((t == mask_id).any()):
        raise ValueError(f"mask_id must not occur in tokens; {mask_id} does")
    g = generator(check_seed(seed))
    N, L = t.shape
    mask = torch.rand(N, L, generator=g) < mask_prob
    forced = torch.randint(0, L, (N,), generator=g)
    mask[torch.arange(N), forced] = True
    mask = mask.to(t.device)
    return torch.where(mask, torch.full_like(t, mask_id), t), mask


def masked_token_loss(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    r"""Cross-entropy of the masked positions only.

    With energies :math:`E(k) = -\text{logit}_k` for each candidate token :math:`k` at a masked
    position, the softmax is the Gibbs distribution at :math:`\beta = 1` and the loss is the
    maximum-likelihood loss :math:`E(y) + \log\sum_k e^{-E(k)}` — exact here, because the
    "grid" of a discrete position is the vocabulary.

    Args:
        logits: ``(N, L, V)`` scores of the ``V`` tokens at each position.
        targets: the clean tokens, ``(N, L)``.
        mask: ``(N, L)`` bool, the positions that were masked.
    """
    lg = as_tensor(logits, "logits", ndim=3)
    t = as_tensor(targets, "targets", ndim=2, integer=True)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor")
    if t.shape != lg.shape[:2] or mask.shape != t.shape:
        raise ValueError(
            f"targets and mask must have shape {tuple(lg.shape[:2])} (logits' first two "
            f"dimensions); got {tuple(t.shape)} and {tuple(mask.shape)}"
        )
    if not bool(mask.any()):
        raise ValueError("mask must select at least one position")
    return F.cross_entropy(lg[mask], t[mask])


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
