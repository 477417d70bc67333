r"""The losses of :mod:`ebmlab.training`: small pure functions of energies.

Maximum likelihood with :math:`Z` on a grid (:func:`nll_loss`, and its gradient by the lecture's
formula), the denoising autoencoder, contrastive divergence, margins, noise-contrastive
estimation, minimum probability flow, ratio matching, and BERT's masked tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from .._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from ..energy import free_energy, gibbs
from ..runtime import generator

__all__ = [
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
]


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
