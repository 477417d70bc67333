r"""The losses of :mod:`ebmlab.training`: small pure functions of energies.

Maximum likelihood with :math:`Z` on a grid (:func:`nll_loss`, and its gradient by the lecture's
formula), the denoising autoencoder, contrastive divergence, margins, noise-contrastive
estimation, minimum probability flow and ratio matching (BERT's masked tokens are in
:mod:`.masked`).

Each checks its arguments against the constraints it declares (``@checked``) and then is the
formula, nothing else; the training loops of :mod:`.fit`, which have checked their inputs once,
call the unchecked function (``loss.__wrapped__``) at every step. A loss that is an average over
examples takes ``reduction="mean" | "sum" | "none"``, as in :mod:`torch.nn.functional`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from .._validation import IsCallable, Real, Seed, Tensor, checked
from ..energy import free_energy, gibbs
from ..runtime import generator
from ._checks import ENERGIES, POSITIVE, REDUCTION, reduce

__all__ = [
    "nll_loss",
    "nll_gradient",
    "dae_loss",
    "cd_loss",
    "hinge_loss",
    "nce_loss",
    "mpf_loss",
    "ratio_matching_loss",
]


# --------------------------------------------------------------------------- losses


@checked(
    energy_data=ENERGIES,
    energy_grid=ENERGIES,
    beta=POSITIVE,
    cell=POSITIVE,
    reduction=REDUCTION,
)
def nll_loss(
    energy_data: torch.Tensor,
    energy_grid: torch.Tensor,
    beta: float = 1.0,
    cell: float = 1.0,
    reduction: str = "mean",
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
        reduction: ``"mean"`` (the loss above), ``"sum"``, or ``"none"`` for the loss of each
            data point, ``(N,)``.
    """
    data = energy_data.mean() if reduction == "mean" else energy_data  # mean(E_i - F) = mean E - F
    loss = data - free_energy(energy_grid, beta, dz=cell)
    return loss.sum() if reduction == "sum" else loss


@checked(energy=IsCallable(), Y=Tensor(2), grid=Tensor(2), beta=POSITIVE)
def nll_gradient(
    energy: Callable[[torch.Tensor], torch.Tensor],
    params: Sequence[torch.Tensor],
    Y: torch.Tensor,
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
        Y: the data :math:`Y_i`, ``(N, d)``.
        grid: the grid points :math:`y_j`, ``(M, d)``.
        beta: inverse temperature :math:`\beta > 0`.

    Returns:
        One gradient per parameter, in the order of ``params``.
    """
    if isinstance(params, (str, torch.Tensor)) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a sequence of tensors (model.parameters()); got {type(params).__name__}"
        )
    params = list(params)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("params must be a non-empty sequence of tensors with requires_grad=True")
    if grid.shape[1] != Y.shape[1]:
        raise ValueError(
            f"grid must have {Y.shape[1]} columns like Y; got shape {tuple(grid.shape)}"
        )
    with torch.enable_grad():
        e_grid = energy(grid)
        weights = gibbs(e_grid.detach(), beta)  # P_W(y_j), held fixed
        surrogate = energy(Y).mean() - (weights * e_grid).sum()
        grads = torch.autograd.grad(surrogate, params, allow_unused=True)
    return tuple(torch.zeros_like(p) if g is None else g for p, g in zip(params, grads))


@checked(model=IsCallable(), Y=Tensor(2), noise_std=POSITIVE, seed=Seed(), reduction=REDUCTION)
def dae_loss(
    model: Callable[[torch.Tensor], torch.Tensor],
    Y: torch.Tensor,
    noise_std: float,
    seed: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Denoising loss: reconstruct the clean point from a corrupted copy.

    .. math:: \mathcal L = \frac1N\sum_i \big\|y_i - \mathrm{Dec}(\mathrm{Enc}(y_i + \sigma
              \varepsilon_i))\big\|^2,\qquad \varepsilon_i\sim\mathcal N(0, I)

    The corrupted points are the contrastive points: the model learns to give them a large
    reconstruction error (the distance back to :math:`y_i`), hence a high energy.

    Args:
        model: the autoencoder, ``(B, d) -> (B, d)``.
        Y: clean points :math:`y_i`, ``(N, d)``.
        noise_std: :math:`\sigma > 0`.
        seed: seed of the corruption.
        reduction: ``"mean"`` (the loss above), ``"sum"``, or ``"none"`` for each point's
            squared error, ``(N,)``.
    """
    g = generator(seed)
    noisy = Y + noise_std * torch.randn(Y.shape, generator=g, dtype=Y.dtype).to(Y.device)
    return reduce(((model(noisy) - Y) ** 2).sum(dim=1), reduction)


@checked(energy_pos=ENERGIES, energy_neg=ENERGIES, alpha=Real(low=0.0))
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

    The data and the samples are two sets of different sizes: there is no per-example loss to
    reduce, hence no ``reduction``.
    """
    ep, en = energy_pos, energy_neg
    return ep.mean() - en.mean() + alpha * ((ep**2).mean() + (en**2).mean())


@checked(energy_pos=ENERGIES, energy_neg=ENERGIES, margin=POSITIVE, reduction=REDUCTION)
def hinge_loss(
    energy_pos: torch.Tensor,
    energy_neg: torch.Tensor,
    margin: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Margin (hinge) loss on pairs: the contrastive point must be ``margin`` higher.

    .. math:: \mathcal L = \frac1N\sum_i \big[m + E(y_i) - E(\bar y_i)\big]_+

    Once a pair is separated by the margin it gives no gradient, so, unlike
    :func:`cd_loss`, the energies cannot run off to infinity.

    Args:
        energy_pos: energies of the data, ``(N,)``.
        energy_neg: energies of the contrastive points, paired with the data, ``(N,)``.
        margin: :math:`m > 0`.
        reduction: ``"mean"`` (the loss above), ``"sum"``, or ``"none"`` for each pair's loss.
    """
    ep, en = energy_pos, energy_neg
    if en.shape != ep.shape:
        raise ValueError(
            f"energy_neg must pair with energy_pos, shape {tuple(ep.shape)}; got {tuple(en.shape)}"
        )
    return reduce(F.relu(margin + ep - en), reduction)


@checked(
    energy_data=ENERGIES,
    energy_noise=ENERGIES,
    log_q_data=Tensor((0, 1)),
    log_q_noise=Tensor((0, 1)),
)
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

    The data and the noise are two sets of different sizes: there is no per-example loss to
    reduce, hence no ``reduction``.
    """
    ed, en = energy_data, energy_noise
    lqd = torch.as_tensor(log_q_data, dtype=ed.dtype, device=ed.device)
    lqn = torch.as_tensor(log_q_noise, dtype=en.dtype, device=en.device)
    if lqd.ndim == 1 and lqd.shape != ed.shape:
        raise ValueError(f"log_q_data must have shape {tuple(ed.shape)}; got {tuple(lqd.shape)}")
    if lqn.ndim == 1 and lqn.shape != en.shape:
        raise ValueError(f"log_q_noise must have shape {tuple(en.shape)}; got {tuple(lqn.shape)}")
    log_nu = math.log(en.shape[0] / ed.shape[0])
    g_data = -ed - lqd - log_nu
    g_noise = -en - lqn - log_nu
    nu = en.shape[0] / ed.shape[0]
    return F.softplus(-g_data).mean() + nu * F.softplus(g_noise).mean()


@checked(
    energy_data=ENERGIES,
    energy_neighbours=Tensor(2),
    beta=POSITIVE,
    reduction=REDUCTION,
)
def mpf_loss(
    energy_data: torch.Tensor,
    energy_neighbours: torch.Tensor,
    beta: float = 1.0,
    reduction: str = "mean",
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
        reduction: ``"mean"`` (the loss above), ``"sum"``, or ``"none"`` for each data state's
            flow.
    """
    ed, en = energy_data, energy_neighbours
    if en.shape[0] != ed.shape[0]:
        raise ValueError(
            f"energy_neighbours must have {ed.shape[0]} rows like energy_data; got {tuple(en.shape)}"
        )
    return reduce(torch.exp(0.5 * beta * (ed[:, None] - en)).sum(dim=1), reduction)


@checked(energy_data=ENERGIES, energy_flipped=Tensor(2), reduction=REDUCTION)
def ratio_matching_loss(
    energy_data: torch.Tensor, energy_flipped: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
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
        reduction: ``"mean"`` (the loss above), ``"sum"``, or ``"none"`` for each data vector's
            term.
    """
    ed, ef = energy_data, energy_flipped
    if ef.shape[0] != ed.shape[0]:
        raise ValueError(
            f"energy_flipped must have {ed.shape[0]} rows like energy_data; got {tuple(ef.shape)}"
        )
    return reduce((torch.sigmoid(ed[:, None] - ef) ** 2).sum(dim=1), reduction)
