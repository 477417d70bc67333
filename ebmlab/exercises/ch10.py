"""Checks for chapter 10 (deep energy-based models, score matching and the road to diffusion)."""

from __future__ import annotations

import torch

from ..samplers import AnnealedLangevinConfig, annealed_langevin, annealed_langevin_step
from ..training import (
    NoiseConditionalScore,
    dsm_loss,
    geometric_sigmas,
    mixture_score,
    replay_sample,
)
from . import Exercise
from ._compare import indices, pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = [
    "MEANS",
    "WEIGHTS",
    "exact_score",
    "check_dsm_loss",
    "check_annealed_step",
    "check_replay_sample",
    "check_minor_weight",
    "EXERCISES",
]

#: The means of the chapter's mixture (weight 0.2 at (-5, -5), 0.8 at (5, 5), standard deviation 1).
MEANS = torch.tensor([[-5.0, -5.0], [5.0, 5.0]])
WEIGHTS = torch.tensor([0.2, 0.8])


def exact_score(y: torch.Tensor, sigma) -> torch.Tensor:
    r"""The score of the chapter's mixture blurred by noise ``sigma``: the same mixture with
    standard deviation :math:`\sqrt{1 + \sigma^2}`."""
    return mixture_score(y, MEANS, WEIGHTS, (1 + torch.as_tensor(sigma) ** 2) ** 0.5)


def _linear_score(y, sigma):
    return -y / (1 + torch.as_tensor(sigma).reshape(-1, 1) ** 2)


def _network(g: torch.Generator) -> NoiseConditionalScore:
    """An untrained network whose weights come from ``g`` (torch's global stream untouched)."""
    with torch.random.fork_rng(devices=[]):
        net = NoiseConditionalScore(3, 16, 2)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return net.requires_grad_(False)


# --------------------------------------------------------------------------- DSM loss


def _dsm_reference(score, Y, sigma, noise):
    return dsm_loss(score, Y, sigma, noise)


def _dsm_cases(seed: int) -> list[Case]:
    g = rng(1001, seed)
    Y2 = 3 * torch.randn(6, 2, generator=g)
    Y3 = torch.randn(5, 3, generator=g)
    return [
        Case(
            (_linear_score, Y2, 1.0, torch.randn(6, 2, generator=g)),
            what="a linear score, sigma = 1",
            hint="the loss of a point is 0.5 * || sigma * s(y + sigma * eps, sigma) + eps ||^2",
        ),
        Case(
            (exact_score, Y2, 0.3, torch.randn(6, 2, generator=g)),
            what="the mixture's exact score, sigma = 0.3",
            hint="evaluate the score at the NOISY point y + sigma * eps, and weight by sigma^2",
        ),
        Case(
            (exact_score, Y2, 0.1 + torch.rand(6, generator=g), torch.randn(6, 2, generator=g)),
            what="one sigma per point, shape (N,)",
            hint="make sigma a column, sigma.reshape(-1, 1), before multiplying (N, d) tensors",
        ),
        Case(
            (_network(g), Y3, 2.0, torch.randn(5, 3, generator=g)),
            what="a noise-conditional network in 3-D, sigma = 2",
            hint="average over the points, sum over the coordinates",
        ),
    ]


def check_dsm_loss(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(score, Y, sigma, noise)``: the mean over points of
    :math:`\tfrac12\|\sigma\,s(y + \sigma\varepsilon, \sigma) + \varepsilon\|^2`."""
    return check(
        fn,
        _dsm_reference,
        _dsm_cases,
        name="dsm_loss",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- annealed step


def _step_cases(seed: int) -> list[Case]:
    g = rng(1002, seed)
    y = -8 + 16 * torch.rand(7, 2, generator=g)
    return [
        Case(
            (exact_score, y, torch.zeros(7, 2), 1.0, 0.1),
            what="zero noise: one step of gradient ascent on log p",
            hint="y + step_size * score(y, sigma)",
        ),
        Case(
            (exact_score, y, torch.randn(7, 2, generator=g), 0.5, 0.01),
            what="with noise",
            hint="the noise is multiplied by sqrt(2 * step_size), not by sigma",
        ),
        Case(
            (
                _linear_score,
                torch.randn(4, 2, generator=g),
                torch.randn(4, 2, generator=g),
                3.0,
                2.0,
            ),
            what="a linear score at sigma = 3",
            hint="pass sigma to the score: score(y, sigma)",
        ),
        Case(
            (
                _network(g),
                torch.randn(5, 3, generator=g),
                torch.randn(5, 3, generator=g),
                0.2,
                0.05,
            ),
            what="a network in 3-D",
        ),
    ]


def check_annealed_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(score, y, noise, sigma, step_size)``: one Langevin step on the score,
    :math:`y + \eta\,s(y, \sigma) + \sqrt{2\eta}\,\varepsilon`."""
    return check(fn, annealed_langevin_step, _step_cases, name="annealed_step", quiet=quiet)


# --------------------------------------------------------------------------- replay buffer


def _replay_cases(seed: int) -> list[Case]:
    g = rng(1003, seed)
    s = int(torch.randint(0, 10_000, (1,), generator=g))
    return [
        Case(
            (torch.rand(20, 4, generator=g), 8, 0.0, 0.0, 1.0, s),
            what="no re-initialisation",
            hint="idx = torch.randint(0, len(buffer), (n,), generator=g), then buffer[idx]",
        ),
        Case(
            (torch.rand(50, 3, generator=g), 20, 0.05, 0.0, 1.0, s + 1),
            what="5% of 20 chains from noise: one",
            hint="k = round(reinit * n) of the FIRST rows become low + (high - low) * torch.rand(k, d)",
        ),
        Case(
            (torch.rand(10, 2, generator=g), 10, 0.5, -1.0, 1.0, s + 2),
            what="half of them, noise in [-1, 1]",
            hint="draw the indices first, then the noise, both from g = ebmlab.generator(seed)",
        ),
        Case(
            (torch.rand(5, 6, generator=g), 7, 1.0, 0.0, 2.0, s + 3),
            what="every chain restarted; more chains than stored samples",
            hint="indices are drawn with replacement",
        ),
    ]


def check_replay_sample(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(buffer, n, reinit, low, high, seed)``: the chain starts ``(n, d)`` and the
    rows they came from ``(n,)``, drawn as :func:`ebmlab.training.replay_sample` says."""
    return check(
        fn,
        replay_sample,
        _replay_cases,
        name="replay_sample",
        compare=pair(("start", "idx"), allclose(1e-6, 1e-6), indices()),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- experiment


def _minor_weight_reference(sigmas, steps, step_size):
    init = -8 + 16 * torch.rand(2000, 2, generator=torch.Generator().manual_seed(0))
    ladder = tuple(float(s) for s in sigmas)
    config = AnnealedLangevinConfig(sigmas=ladder, steps=steps, step_size=step_size)
    y = annealed_langevin(exact_score, init, config, seed=1).samples
    return ((y - MEANS[0]).norm(dim=1) < (y - MEANS[1]).norm(dim=1)).double().mean().item()


def _minor_cases(seed: int) -> list[Case]:
    g = rng(1004, seed)
    small = float(0.05 + 0.1 * torch.rand(1, generator=g))
    top = float(8.0 + 4.0 * torch.rand(1, generator=g))
    return [
        Case((torch.tensor([small]), 300, 0.05), what="plain Langevin at a small sigma"),
        Case(
            (torch.tensor(geometric_sigmas(top, small, 8)), 40, 1e-3),
            what="a ladder of 8 levels from about 10",
            hint="the starts are uniform on [-8, 8]^2; count the samples nearer (-5, -5)",
        ),
        Case((torch.tensor([2.0]), 200, 0.2), what="plain Langevin at sigma = 2"),
        Case(
            (torch.tensor(geometric_sigmas(2 * top, 0.1, 12)), 30, 1e-3),
            what="a ladder of 12 levels from about 20",
        ),
    ]


def check_minor_weight(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(sigmas, steps, step_size)`` (``sigmas`` a 1-D tensor, largest first): the share of annealed-Langevin samples nearer the minor
    mode, within 0.05 of the reference's measurement (other seeds move it by about 0.01)."""
    return check(
        fn,
        _minor_weight_reference,
        _minor_cases,
        name="minor_weight",
        compare=allclose(0.0, 0.05),
        quiet=quiet,
    )


EXERCISES = {
    "dsm_loss": Exercise(
        check_dsm_loss,
        _dsm_reference,
        "Write the denoising score matching loss, with one noise level or one per point",
        "easy",
        15,
    ),
    "annealed_step": Exercise(
        check_annealed_step,
        annealed_langevin_step,
        "Write one Langevin step driven by a score instead of an energy",
        "easy",
        10,
    ),
    "replay_sample": Exercise(
        check_replay_sample,
        replay_sample,
        "Draw chain starts from a replay buffer, a share of them restarted from noise",
        "medium",
        15,
    ),
    "minor_weight": Exercise(
        check_minor_weight,
        _minor_weight_reference,
        "Measure how the noise ladder decides whether Langevin recovers the modes' weights",
        "medium",
        25,
    ),
}
