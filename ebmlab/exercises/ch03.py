"""Checks for chapter 3 (latent variables and free energy)."""

from __future__ import annotations

import math

import torch

from ..energy import free_energy, gibbs, grid_1d
from ..latent import ellipse_decoder, nearest_latent
from . import Exercise
from ._core import Case, CheckResult, allclose, check, rng

__all__ = [
    "check_free_energy",
    "check_nearest_latent",
    "check_marginal",
    "check_laplace_gap",
    "EXERCISES",
]


def _free_energy_reference(energies: torch.Tensor, beta: float) -> torch.Tensor:
    return free_energy(energies, beta, dim=-1)


def _free_energy_cases(seed: int) -> list[Case]:
    g = rng(303, seed)
    return [
        Case((torch.tensor([0.0, 1.0, 2.0]), 1.0), what="three energies, beta = 1"),
        Case(
            (torch.tensor([0.5, 0.5, 0.5, 0.5]), 3.0),
            what="equal energies",
            hint="use the normalised form: divide the sum by N (subtract log N) before the -1/beta",
        ),
        Case((torch.rand(4, 50, generator=g) * 5, 2.0), what="a batch of 4 rows; reduce each row"),
        Case(
            (torch.rand(64, generator=g) * 3 + 500.0, 10.0),
            what="energies around 500, beta = 10",
            hint="exp(-5000) underflows to 0 and log(0) = -inf: use torch.logsumexp",
        ),
        Case(
            (torch.rand(64, generator=g) * 3 - 900.0, 1.0),
            what="energies around -900",
            hint="exp(900) overflows to inf: use torch.logsumexp",
        ),
        Case((torch.rand(32, generator=g) * 3, 1e-3), what="beta = 0.001: close to the mean"),
    ]


def check_free_energy(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(energies, beta)``: the normalised free energy along the last dimension,
    :math:`F_\beta = -\frac1\beta\log\big(\frac1N\sum_i e^{-\beta E_i}\big)`, computed stably."""
    return check(
        fn,
        _free_energy_reference,
        _free_energy_cases,
        name="free_energy",
        compare=allclose(1e-4, 1e-4),
        quiet=quiet,
    )


_Z_GRID, _ = grid_1d(0.0, 2 * math.pi, 2048, dtype=torch.float64)


def _nearest_energy_reference(y: torch.Tensor, w1: float, w2: float) -> torch.Tensor:
    def g(z):
        return ellipse_decoder(z, w1, w2)

    return nearest_latent(y.double(), g, _Z_GRID, refine_steps=50, lr=0.02).value


def _energy_at_students_z(fn):
    def wrapped(y: torch.Tensor, w1: float, w2: float) -> torch.Tensor:
        z = fn(y, w1, w2)
        z = torch.as_tensor(z).double()
        if z.shape != (y.shape[0],):
            raise ValueError(
                f"return one angle per point, shape ({y.shape[0]},); got {tuple(z.shape)}"
            )
        return ((y.double() - ellipse_decoder(z, w1, w2)) ** 2).sum(-1)

    return wrapped


def _nearest_cases(seed: int) -> list[Case]:
    g = rng(33, seed)
    return [
        Case((torch.tensor([[2.0, 0.0], [0.0, 1.0]]), 2.0, 1.0), what="two points on the ellipse"),
        Case((torch.randn(20, 2, generator=g) * 2, 2.0, 1.0), what="20 points around the ellipse"),
        Case(
            (torch.tensor([[0.0, 0.0], [0.5, 0.1]]), 2.0, 1.0),
            what="points inside, near the centre",
            hint="the energy has two valleys in z there; search all of [0, 2π) before refining",
        ),
        Case((torch.randn(10, 2, generator=g), 0.5, 1.5), what="an ellipse taller than wide"),
    ]


def check_nearest_latent(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(y, w1, w2) -> z``: for each point ``y`` ``(B, 2)``, an angle :math:`z` with
    :math:`\lVert y - (w_1\cos z, w_2\sin z)\rVert^2 = \min_{z'}(\dots)` — graded by the energy
    at your :math:`z` (within 1e-3), since several :math:`z` can be equally good."""
    ref = _nearest_energy_reference
    return check(
        _energy_at_students_z(fn),
        ref,
        _nearest_cases,
        name="nearest_latent (energy at your z)",
        compare=allclose(1e-3, 1e-3),
        quiet=quiet,
    )


def _marginal_reference(E: torch.Tensor, beta: float) -> torch.Tensor:
    return gibbs(free_energy(E, beta, dim=1), beta, dim=0)


def _marginal_cases(seed: int) -> list[Case]:
    g = rng(7, seed)
    return [
        Case(
            (torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.5]]), 1.0), what="3 values of y, 2 of z"
        ),
        Case((torch.rand(30, 40, generator=g) * 4, 2.0), what="30 y by 40 z"),
        Case(
            (torch.rand(10, 20, generator=g) * 5 + 300.0, 5.0),
            what="large energies",
            hint="work with log-probabilities: logsumexp over z, then a softmax over y",
        ),
        Case(
            (torch.rand(10, 20, generator=g) * 2, 0.05),
            what="beta = 0.05: almost flat",
        ),
    ]


def check_marginal(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(E, beta)``: for an energy table ``E[i, j]`` = :math:`E(y_i, z_j)`, the marginal
    :math:`P(y_i) = \sum_j e^{-\beta E_{ij}} / \sum_{k, j} e^{-\beta E_{kj}}` (a vector summing
    to 1)."""
    return check(fn, _marginal_reference, _marginal_cases, name="marginal", quiet=quiet)


# --------------------------------------------------------------------------- experiment: Laplace


def _laplace_gap_reference(curvature: torch.Tensor, beta: float, length: float) -> torch.Tensor:
    r"""Measured: :math:`F_\beta - \min_z E` for :math:`E(z) = \tfrac12 k z^2` on a fine grid of
    ``[-length/2, length/2]``, with the normalised free energy (uniform measure on z)."""
    z = torch.linspace(-length / 2, length / 2, 40_001, dtype=torch.float64)
    E = 0.5 * curvature.double()[:, None] * z**2
    F = free_energy(E, beta, dim=-1)
    return (F - E.amin(dim=-1)).to(curvature.dtype)


def _laplace_cases(seed: int) -> list[Case]:
    g = rng(3333, seed)

    def k(m, low, high):
        return low + (high - low) * torch.rand(m, generator=g, dtype=torch.float64)

    hint = (
        "near its minimum the integrand exp(-beta k z^2 / 2) is a Gaussian: integrate it, "
        "divide by the length of the latent's interval (the uniform measure), take -log / beta"
    )
    return [
        Case(
            (torch.tensor([1.0], dtype=torch.float64), 10.0, 2 * math.pi), what="k = 1, beta = 10"
        ),
        Case((k(4, 1.0, 5.0), 30.0, 2 * math.pi), what="four valleys, beta = 30", hint=hint),
        Case(
            (k(4, 1.0, 5.0), 100.0, 2 * math.pi),
            what="four valleys, beta = 100",
            hint="the gap shrinks like log(beta) / beta as beta grows",
        ),
        Case(
            (k(3, 2.0, 8.0), 50.0, 4.0),
            what="a latent interval of length 4",
            hint="the length of the interval enters through the uniform measure 1/length",
        ),
    ]


def check_laplace_gap(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(curvature, beta, length)``: the predicted gap :math:`F_\beta - F_\infty` of a
    valley :math:`E(z) = \tfrac12 k z^2` of a latent uniform on an interval, for each curvature
    :math:`k`, against the gap measured with :func:`ebmlab.energy.free_energy` (to 1 %)."""
    return check(
        fn,
        _laplace_gap_reference,
        _laplace_cases,
        name="laplace_gap",
        compare=allclose(0.01, 1e-5),
        quiet=quiet,
    )


EXERCISES = {
    "free_energy": Exercise(
        check_free_energy,
        _free_energy_reference,
        "Compute the free energy F_beta with a stable log-sum-exp",
        "easy",
        10,
    ),
    "nearest_latent": Exercise(
        check_nearest_latent,
        lambda y, w1, w2: (
            nearest_latent(
                y,
                lambda z: ellipse_decoder(z, w1, w2),
                _Z_GRID.to(y.dtype),
                refine_steps=50,
                lr=0.02,
            ).argmin
        ),
        "Zero-temperature inference of a continuous latent: grid search, then refine",
        "medium",
        15,
    ),
    "marginal": Exercise(
        check_marginal,
        _marginal_reference,
        "Marginalise the latent: P(y) from the joint Gibbs distribution of (y, z)",
        "medium",
        15,
    ),
    "laplace_gap": Exercise(
        check_laplace_gap,
        _laplace_gap_reference,
        "Derive how far F_beta sits above the minimum for a valley of curvature k; measure it",
        "hard",
        25,
    ),
}
