"""Checks for chapter 5 (K-means as a latent-variable energy-based model)."""

from __future__ import annotations

import torch

from ..kmeans import assign, complete, free_energy
from . import Exercise
from ._compare import indices, pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_assign", "check_lloyd_step", "check_predict_y2", "check_soft_assign"]
__all__ += ["EXERCISES"]


# --------------------------------------------------------------------------- z-step


def _assign_reference(Y: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return assign(Y, centers)


def _assign_cases(seed: int) -> list[Case]:
    g = rng(505, seed)
    return [
        Case(
            (torch.tensor([[0.0, 0.0], [2.0, 1.0]]), torch.tensor([[0.0, 1.0], [2.0, 0.0]])),
            what="two points, two prototypes",
        ),
        Case(
            (torch.randn(50, 2, generator=g), torch.randn(4, 2, generator=g)),
            what="50 points in 2-D, 4 prototypes",
            hint="E(y, e_j) = ||y - w_j||^2: the SQUARED distance, summed over coordinates",
        ),
        Case(
            (torch.randn(30, 64, generator=g), torch.randn(10, 64, generator=g)),
            what="64-D points, 10 prototypes",
            hint="broadcast (n, 1, d) against (1, k, d) and sum over the last dimension",
        ),
        Case(
            (torch.randn(1, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g)),
            what="a single point (float64) and 5 prototypes (float32)",
            hint="return F as a (n,) tensor even when n = 1; cast centers to Y's dtype",
        ),
        Case(
            (5.0 + torch.randn(20, 3, generator=g), torch.randn(6, 3, generator=g)),
            what="every point far from every prototype",
            hint="return the minimum energy F = min_z E (a value), not the index of the minimum",
        ),
    ]


def check_assign(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, centers) -> (labels, F)``: each row's nearest prototype
    :math:`\arg\min_j \lVert y - w_j\rVert^2` and its energy :math:`F_\infty(y)`."""
    return check(
        fn,
        _assign_reference,
        _assign_cases,
        name="assign",
        compare=pair(("labels", "F"), indices(), allclose(1e-4, 1e-5)),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- one Lloyd step


def _lloyd_reference(Y: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    # the exercise's rule for an empty cluster: its prototype stays where it is
    C = centers.to(Y.dtype)
    labels, _ = assign(Y, C)
    sums = torch.zeros_like(C).index_add_(0, labels, Y)
    counts = torch.bincount(labels, minlength=C.shape[0]).to(Y.dtype).unsqueeze(1)
    return torch.where(counts > 0, sums / counts.clamp(min=1), C)


def _lloyd_cases(seed: int) -> list[Case]:
    g = rng(1957, seed)
    Y = torch.randn(200, 2, generator=g)
    return [
        Case(
            (
                torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]]),
                torch.tensor([[0.0, 1.0], [10.0, 9.0]]),
            ),
            what="two obvious clusters",
        ),
        Case((Y, Y[:5].clone()), what="200 points in 2-D, prototypes at 5 data points"),
        Case(
            (torch.randn(300, 16, generator=g), torch.randn(8, 16, generator=g)),
            what="16-D, 8 prototypes",
            hint="the new prototype j is the MEAN of the points whose nearest prototype is j",
        ),
        Case(
            (Y, torch.tensor([[0.0, 0.0], [0.1, 0.0], [50.0, 50.0]])),
            what="a prototype far from every point (an empty cluster)",
            hint="no point chose prototype 2: keep it where it is (do not divide by zero)",
        ),
        Case(
            (torch.randn(1_000_000, 2, generator=g), torch.randn(4, 2, generator=g)),
            what="a million points: a Python loop over them is too slow",
            hint="no loop over the points: index_add_ or a one-hot matrix sums each cluster",
            budget=5.0,
        ),
    ]


def check_lloyd_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, centers) -> new_centers``: one z-step (nearest prototype) and one W-step
    (each prototype moves to the mean of its points; a prototype with no point stays put)."""
    return check(
        fn,
        _lloyd_reference,
        _lloyd_cases,
        name="lloyd_step",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- y2 from y1


def _predict_y2_reference(y1: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    Y = torch.stack([y1, torch.zeros_like(y1)], dim=1)
    return complete(Y, centers, torch.tensor([True, False]))[:, 1]


def _predict_cases(seed: int) -> list[Case]:
    g = rng(2020, seed)
    return [
        Case(
            (torch.tensor([0.0, 1.0]), torch.tensor([[0.1, 5.0], [0.9, -5.0]])),
            what="two prototypes, two inputs",
        ),
        Case(
            (torch.rand(40, generator=g) * 2 - 1, torch.randn(7, 2, generator=g)),
            what="40 inputs, 7 prototypes",
            hint="compare y1 with the FIRST coordinate of each prototype only; "
            "the prediction is the SECOND coordinate of the winner",
        ),
        Case(
            (torch.tensor([0.5]), torch.tensor([[0.4, -1.0], [0.45, 2.0], [3.0, 0.0]])),
            what="the nearest prototype in the plane is not the nearest in y1",
            hint="minimise over y2 too: the y2-term of the energy can always be made 0, "
            "so only (y1 - w_j1)^2 decides",
        ),
    ]


def check_predict_y2(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(y1, centers) -> y2``: :math:`\check y_2 = w_{\check j, 2}` with
    :math:`\check j = \arg\min_j (y_1 - w_{j,1})^2`, the minimiser of :math:`E` over
    :math:`y_2` and :math:`z`."""
    return check(
        fn,
        _predict_y2_reference,
        _predict_cases,
        name="predict_y2",
        compare=allclose(1e-5, 1e-6),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- soft assignment


def _soft_assign_reference(
    Y: torch.Tensor, centers: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    # exact differences in float64, so that a large beta does not amplify rounding
    Y64, C64 = Y.double(), centers.double()
    E = ((Y64[:, None, :] - C64[None, :, :]) ** 2).sum(-1)  # (n, k)
    r = torch.softmax(-beta * E, dim=1)
    return r.to(Y.dtype), free_energy(Y64, C64, beta).to(Y.dtype)


def _soft_assign_cases(seed: int) -> list[Case]:
    g = rng(5050, seed)
    return [
        Case(
            (torch.tensor([[0.9, 0.3]]), torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]), 1.0),
            what="the chapter's point and three prototypes, beta = 1",
            hint="r = softmax(-beta E) over the k prototypes (each row sums to 1); "
            "F = -(1/beta) log((1/k) sum_j exp(-beta E_j)), the 1/k inside the log",
        ),
        Case(
            (torch.randn(40, 2, generator=g), torch.randn(5, 2, generator=g), 2.0),
            what="40 points, 5 prototypes, beta = 2",
            hint="E_ij = ||y_i - w_j||^2; the softmax runs over j (dim=1), not over the points",
        ),
        Case(
            (torch.randn(30, 3, generator=g), torch.randn(6, 3, generator=g), 0.01),
            what="a high temperature, beta = 0.01",
            hint="without the 1/k, F is off by log(k) / beta, which is large when beta is small",
        ),
        Case(
            (6.0 + torch.randn(20, 3, generator=g), torch.randn(4, 3, generator=g), 50.0),
            what="points far from every prototype, beta = 50",
            hint="exp(-beta E) underflows to 0 here: subtract the smallest energy first "
            "(torch.logsumexp and torch.softmax do it for you)",
        ),
        Case(
            (torch.randn(25, 64, generator=g), torch.randn(10, 64, generator=g), 0.3),
            what="64-D points, 10 prototypes",
        ),
    ]


def check_soft_assign(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, centers, beta) -> (r, F)``: the soft assignments
    :math:`r_{ij} = e^{-\beta E_{ij}} / \sum_l e^{-\beta E_{il}}` and the free energy
    :math:`F_\beta(y_i) = -\frac1\beta \log \frac1k \sum_j e^{-\beta E_{ij}}`, with
    :math:`E_{ij} = \lVert y_i - w_j\rVert^2`."""
    return check(
        fn,
        _soft_assign_reference,
        _soft_assign_cases,
        name="soft_assign",
        compare=pair(("r", "F"), allclose(1e-4, 1e-6), allclose(1e-4, 1e-5)),
        quiet=quiet,
    )


EXERCISES = {
    "assign": Exercise(
        check_assign,
        _assign_reference,
        "Infer the latent code of K-means: the nearest prototype and the free energy",
        "easy",
        10,
    ),
    "lloyd_step": Exercise(
        check_lloyd_step,
        _lloyd_reference,
        "One step of coordinate descent on the K-means energy (z-step, then W-step)",
        "medium",
        15,
    ),
    "predict_y2": Exercise(
        check_predict_y2,
        _predict_y2_reference,
        "Use a learned energy to predict a missing coordinate",
        "medium",
        15,
    ),
    "soft_assign": Exercise(
        check_soft_assign,
        _soft_assign_reference,
        "Soften the z-step: responsibilities and the free energy at inverse temperature beta",
        "medium",
        15,
    ),
}
