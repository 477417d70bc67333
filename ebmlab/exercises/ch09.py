"""Checks for chapter 9 (joint embeddings without negatives: VICReg, Barlow Twins, BYOL, SimSiam)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..ssl import barlow_twins_loss, spectrum, vicreg_loss
from . import Exercise
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_vicreg", "check_barlow_twins", "check_ema", "check_collapse"]
__all__ += ["CollapseMeasurement", "collapse_experiment", "EXERCISES"]


def _vicreg_reference(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    return vicreg_loss(z1, z2).loss


def _vicreg_cases(seed: int) -> list[Case]:
    g = rng(909, seed)
    mixed = torch.randn(12, 3, generator=g) @ torch.tensor(
        [[1.0, 0.8, 0.0], [0, 0.6, 0], [0, 0, 1]]
    )
    return [
        Case(
            (torch.ones(8, 4), torch.ones(8, 4)),
            what="a collapsed batch: every embedding the same point",
            hint="only the variance term is left: relu(1 - sqrt(var + 1e-4)) per dimension, "
            "averaged over the dimensions, for each of the two views",
        ),
        Case(
            (torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[0.2, 0.9], [0.8, 0.3]])),
            what="a batch of 2",
            hint="the variance and the covariance use the N - 1 denominator "
            "(torch.var's default, unbiased=True)",
        ),
        Case(
            (mixed, mixed + 0.1 * torch.randn(12, 3, generator=g)),
            what="correlated dimensions",
            hint="the covariance term sums the squared OFF-diagonal covariances only, "
            "divided by d; the diagonal holds the variances",
        ),
        Case(
            (3 * torch.randn(16, 5, generator=g), 3 * torch.randn(16, 5, generator=g)),
            what="embeddings whose spread is above 1",
            hint="the hinge max(0, 1 - std) is 0 once a dimension's std passes 1",
        ),
        Case(
            (torch.randn(32, 8, generator=g), torch.randn(32, 8, generator=g)),
            what="32 pairs in 8 dimensions",
            hint="the invariance term is the mean over all N x d squared differences "
            "(F.mse_loss), weighted by 25",
        ),
    ]


def check_vicreg(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(z1, z2)``: VICReg's loss with the paper's weights 25, 25, 1, :math:`\gamma = 1`
    and :math:`\epsilon = 10^{-4}` (:func:`ebmlab.ssl.vicreg_loss`)."""
    return check(
        fn,
        _vicreg_reference,
        _vicreg_cases,
        name="vicreg",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


def _barlow_reference(z1: torch.Tensor, z2: torch.Tensor, off_diagonal: float) -> torch.Tensor:
    return barlow_twins_loss(z1, z2, off_diagonal)


def _barlow_cases(seed: int) -> list[Case]:
    g = rng(99, seed)
    z = torch.randn(10, 4, generator=g)
    return [
        Case(
            (z, z, 0.0),
            what="identical views, no off-diagonal weight",
            hint="after standardising, every diagonal correlation of identical views is 1",
        ),
        Case(
            (5 * z + 3, z + 0.2 * torch.randn(10, 4, generator=g), 0.1),
            what="views on different scales and offsets",
            hint="standardise each dimension over the batch first: subtract its mean, divide "
            "by sqrt(variance + 1e-5)",
        ),
        Case(
            (torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), 0.5),
            what="a batch of 4",
            hint="the standardisation uses the biased variance (unbiased=False) and the "
            "correlation divides by N, as batch normalisation does",
        ),
        Case(
            (torch.randn(32, 6, generator=g), torch.randn(32, 6, generator=g), 0.005),
            what="32 pairs in 6 dimensions, the paper's weight",
            hint="sum (1 - C_jj)^2 over the diagonal, plus off_diagonal times the sum of the "
            "squared off-diagonal C_jk",
        ),
    ]


def check_barlow_twins(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(z1, z2, off_diagonal)``: Barlow Twins' loss of the batch-standardised
    cross-correlation (:func:`ebmlab.ssl.barlow_twins_loss`, :math:`\epsilon = 10^{-5}`)."""
    return check(
        fn,
        _barlow_reference,
        _barlow_cases,
        name="barlow_twins",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


def _ema_reference(target: torch.Tensor, online: torch.Tensor, momentum: float) -> torch.Tensor:
    return momentum * target + (1 - momentum) * online


def _ema_cases(seed: int) -> list[Case]:
    g = rng(9, seed)

    def params(n=7):
        return torch.randn(n, generator=g)

    return [
        Case((params(), params(), 1.0), what="momentum 1 keeps the target"),
        Case((params(), params(), 0.0), what="momentum 0 copies the online network"),
        Case(
            (params(), params(), 0.9),
            what="momentum 0.9",
            hint="the target keeps the share m of itself: m * target + (1 - m) * online",
        ),
        Case(
            (params(40), 5 * params(40), 0.99),
            what="momentum 0.99, a longer parameter vector",
            hint="return a new tensor; leave target as it was",
        ),
    ]


def check_ema(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(target, online, momentum)``: BYOL's target update
    :math:`\theta' \leftarrow m\,\theta' + (1 - m)\,\theta` on the parameter vectors of the two
    networks, returned as a new tensor (the inputs unchanged)."""
    return check(fn, _ema_reference, _ema_cases, name="ema", compare=allclose(), quiet=quiet)


class CollapseMeasurement(NamedTuple):
    """What :func:`collapse_experiment` measures on the training data."""

    std: float  # the mean per-dimension standard deviation of the embeddings
    top_share: float  # the largest singular value's share of the spectrum's sum


def collapse_experiment(
    invariance: float, variance: float, covariance: float, seed: int = 0
) -> CollapseMeasurement:
    r"""Train a linear encoder :math:`z = W^\top x` (8 to 4 dimensions) with VICReg's loss.

    The data are 128 Gaussian points whose 8 principal standard deviations are
    3, 2, 1.5, 1.2, 0.5, 0.5, 0.5, 0.5 along random directions; each step makes two views by
    adding noise of standard deviation 0.5, and Adam (learning rate 0.05) takes 150 full-batch
    steps on :func:`ebmlab.ssl.vicreg_loss` with the given weights. Deterministic for a seed.

    Args:
        invariance: the weight of the invariance term.
        variance: the weight of the variance term.
        covariance: the weight of the covariance term.
        seed: the seed of the data, the initial weights and the noise.

    Returns:
        A :class:`CollapseMeasurement` of the clean data's embeddings.
    """
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([3.0, 2.0, 1.5, 1.2, 0.5, 0.5, 0.5, 0.5])
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    X = (torch.randn(128, 8, generator=g) * scales) @ Q.T
    W = (0.3 * torch.randn(8, 4, generator=g)).requires_grad_()
    opt = torch.optim.Adam([W], lr=0.05)
    with torch.enable_grad():
        for _ in range(150):
            a = X + 0.5 * torch.randn(X.shape, generator=g)
            b = X + 0.5 * torch.randn(X.shape, generator=g)
            loss = vicreg_loss(a @ W, b @ W, invariance, variance, covariance).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    z = (X @ W).detach()
    s = spectrum(z)
    return CollapseMeasurement(float(z.std(0).mean()), float(s[0] / s.sum()))


def _collapse_reference(weights: torch.Tensor) -> str:
    m = collapse_experiment(*weights.tolist())
    if m.std < 0.1:
        return "complete"
    return "dimensional" if m.top_share > 0.8 else "none"


def _collapse_cases(seed: int) -> list[Case]:
    g = rng(990, seed)

    def weight(low, high):
        return round(float(low + (high - low) * torch.rand(1, generator=g)), 1)

    lam, mu, nu = weight(15, 35), weight(15, 35), weight(1, 2)
    return [
        Case((torch.tensor([lam, 0.0, 0.0]),), what="the invariance term alone", budget=30.0),
        Case(
            (torch.tensor([lam, 0.0, nu]),),
            what="invariance and covariance, no variance term",
            hint="a batch of identical embeddings has zero covariance too",
            budget=30.0,
        ),
        Case(
            (torch.tensor([lam, mu, 0.0]),),
            what="invariance and variance, no covariance term",
            hint="each dimension can meet the variance hinge on its own, in the same "
            "direction as the others",
            budget=30.0,
        ),
        Case((torch.tensor([lam, mu, nu]),), what="all three terms", budget=30.0),
    ]


def _same_word(expected, got) -> str | None:
    if got == expected:
        return None
    return f"expected {expected!r} (measured); got {got!r}"


def check_collapse(fn, quiet: bool = False) -> CheckResult:
    """Check ``fn(weights)``: the collapse that VICReg's weights ``tensor([invariance, variance,
    covariance])`` lead to, ``"complete"``, ``"dimensional"`` or ``"none"``, against
    :func:`collapse_experiment`
    (complete: mean std below 0.1; dimensional: the top singular value over 80 % of the sum)."""
    return check(
        fn, _collapse_reference, _collapse_cases, name="collapse", compare=_same_word, quiet=quiet
    )


EXERCISES = {
    "vicreg": Exercise(
        check_vicreg,
        _vicreg_reference,
        "Write VICReg's loss: invariance, a hinge on each dimension's std, off-diagonal covariances",
        "medium",
        20,
    ),
    "barlow_twins": Exercise(
        check_barlow_twins,
        _barlow_reference,
        "Write Barlow Twins' loss: batch-standardise, cross-correlate, push to the identity",
        "medium",
        15,
    ),
    "ema": Exercise(
        check_ema,
        _ema_reference,
        "Write BYOL's target update, a moving average of the online network's parameters",
        "easy",
        10,
    ),
    "collapse": Exercise(
        check_collapse,
        _collapse_reference,
        "Predict which VICReg terms prevent complete and dimensional collapse, then measure it",
        "medium",
        20,
    ),
}
