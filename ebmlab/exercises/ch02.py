"""Checks for chapter 2 (energy-based models: inference and the Gibbs distribution)."""

from __future__ import annotations

import torch

from ..energy import chain_argmin, gibbs, minimize
from . import Exercise
from ._compare import indices, pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = [
    "check_gibbs",
    "check_descend",
    "check_chain_min",
    "check_largest_stable_lr",
    "EXERCISES",
]


def _gibbs_reference(F: torch.Tensor, beta: float) -> torch.Tensor:
    return gibbs(F, beta, dim=-1)


def _gibbs_cases(seed: int) -> list[Case]:
    g = rng(20202, seed)
    spread = torch.rand(5, generator=g) * 10  # beta * spread reaches 200 at beta = 20
    return [
        Case((torch.tensor([0.0, 1.0, 2.0]), 1.0), what="three energies, beta = 1"),
        Case((torch.rand(7, generator=g) * 4, 0.1), what="beta = 0.1: almost flat"),
        Case((torch.rand(7, generator=g) * 4, 25.0), what="beta = 25: almost one-hot"),
        Case(
            (torch.rand(3, 5, generator=g) * 3, 2.0),
            what="a batch of 3 rows; normalise each row",
            hint="sum over the last dimension only (dim=-1, keepdim=True)",
        ),
        Case(
            (torch.tensor([1000.0, 1001.0, 1003.0]), 1.0),
            what="large energies",
            hint="exp(-1000) underflows to 0; subtract the minimum energy first (or use softmax)",
        ),
        Case(
            (torch.tensor([-800.0, -799.0, -790.0]), 1.0),
            what="large negative energies",
            hint="exp(800) overflows to inf; subtract the minimum energy first (or use softmax)",
        ),
        Case(
            (torch.cat([torch.full((1,), 10.0), spread[:2], torch.zeros(1), spread[2:]]), 20.0),
            what="energies spread over 10, beta = 20",
            hint="shift by the MINIMUM energy: exp(-beta (F - F.max())) overflows when "
            "beta (F.max() - F.min()) > 88; torch.softmax(-beta * F, -1) does it for you",
        ),
        Case(
            (torch.rand(3, 4, generator=g) * 2 + torch.tensor([[0.0], [500.0], [-700.0]]), 1.0),
            what="rows at very different levels",
            hint="shift each row by its own minimum (F.min(-1, keepdim=True)), not by one number",
        ),
    ]


def check_gibbs(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(F, beta)``: the Gibbs probabilities :math:`e^{-\beta F_i}/\sum_j e^{-\beta F_j}`
    along the last dimension."""
    return check(fn, _gibbs_reference, _gibbs_cases, name="gibbs", quiet=quiet)


def _descend_reference(energy, y0: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    return minimize(energy, y0, steps=steps, lr=lr).argmin


def _quadratic(center: torch.Tensor, scale: float):
    return lambda y: scale * ((y - center) ** 2).sum(dim=-1)


def _double_well(y: torch.Tensor) -> torch.Tensor:
    return ((y**2 - 1.0) ** 2).sum(dim=-1)


def _descend_cases(seed: int) -> list[Case]:
    g = rng(7, seed)
    c = torch.randn(4, 2, generator=g)
    return [
        Case((_quadratic(torch.tensor([1.0]), 1.0), torch.zeros(1, 1), 0.1, 1), what="one step"),
        Case((_quadratic(c, 0.5), torch.zeros(4, 2), 0.1, 50), what="4 rows, 2-D, 50 steps"),
        Case(
            (_double_well, torch.tensor([[-0.3], [0.2], [1.7]]), 0.05, 100),
            what="a double well from three starts",
            hint="each row descends on its own: take the gradient of energy(y).sum()",
        ),
        Case((_quadratic(c, 2.0), torch.ones(4, 2), 0.01, 0), what="zero steps returns the start"),
        Case(
            (_quadratic(c, 1.0), torch.randn(4, 2, generator=g), 0.37, 3),
            what="3 steps with lr = 0.37",
            hint="each step is y - lr * grad: use the lr you are given",
        ),
        Case(
            (_quadratic(c, 1.0), torch.randn(4, 2, generator=g), 0.003, 5),
            what="5 small steps, lr = 0.003",
            hint="each step is y - lr * grad: use the lr you are given",
        ),
    ]


def check_descend(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(energy, y0, lr, steps)``: ``steps`` gradient steps
    :math:`y \leftarrow y - \eta\nabla_y E(y)` from ``y0``, each row on its own."""
    return check(
        fn,
        _descend_reference,
        _descend_cases,
        name="descend",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


def _chain_min_reference(unary: torch.Tensor, pairwise: torch.Tensor):
    best = chain_argmin(unary, pairwise)
    return best.argmin, best.value


def _chain_cases(seed: int) -> list[Case]:
    g = rng(3, seed)
    cases = [
        Case((torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.zeros(2, 2)), what="no coupling"),
        Case(
            (
                torch.tensor([[0.0, 0.4], [0.6, 0.0], [0.0, 0.4]]),
                torch.tensor([[0.0, 1.0], [1.0, 0.0]]),
            ),
            what="a coupling that prefers equal neighbours",
            hint="the best state of each site alone is not the best chain: add the pairwise terms",
        ),
    ]
    for n, K in [(5, 3), (8, 4)]:
        cases.append(
            Case(
                (torch.rand(n, K, generator=g), torch.rand(K, K, generator=g)),
                what=f"{n} sites, {K} states",
            )
        )
    cases.append(
        Case(
            (torch.rand(60, 5, generator=g), torch.rand(5, 5, generator=g)),
            what="60 sites, 5 states: 5^60 configurations, too many to try",
            hint="dynamic programming: one min over j per site and state, n K^2 operations",
            budget=5.0,
        )
    )
    return cases


def check_chain_min(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(unary, pairwise) -> (states, min_energy)`` for a chain model
    :math:`E = \sum_i U_i(y_i) + \sum_i V(y_i, y_{i+1})`."""
    return check(
        fn,
        _chain_min_reference,
        _chain_cases,
        name="chain_min",
        compare=pair(("states", "minimum energy"), indices(), allclose()),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- experiment: step size


def _diverges(H: torch.Tensor, y0: torch.Tensor, lr: float, steps: int = 500) -> bool:
    r"""Whether ``steps`` gradient steps on :math:`\tfrac12 y^\top H y` end farther from the
    minimum than they started (NaN and inf count as farther)."""
    y = y0
    for _ in range(steps):
        y = y - lr * (H @ y)
    return not bool(y.norm() <= y0.norm())


def _largest_stable_lr_reference(H: torch.Tensor) -> torch.Tensor:
    """Measured: for each matrix, the step size where descent starts to diverge (bisection)."""
    H64 = H.double()
    y0 = torch.randn(H.shape[-1], generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    out = []
    for h in H64:
        lo, hi = 0.0, 1.0
        while not _diverges(h, y0, hi):
            lo, hi = hi, 2 * hi
        for _ in range(25):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if _diverges(h, y0, mid) else (mid, hi)
        out.append((lo + hi) / 2)
    return torch.tensor(out, dtype=H.dtype)


def _spd(g: torch.Generator, m: int, d: int, low: float, high: float) -> torch.Tensor:
    Q, _ = torch.linalg.qr(torch.randn(m, d, d, generator=g, dtype=torch.float64))
    lam = low + (high - low) * torch.rand(m, d, generator=g, dtype=torch.float64)
    return Q @ torch.diag_embed(lam) @ Q.transpose(-1, -2)


def _stable_lr_cases(seed: int) -> list[Case]:
    g = rng(2222, seed)
    hint = (
        "along each eigenvector of H one step multiplies the error by (1 - lr * lambda); "
        "which eigenvalue decides?"
    )
    return [
        Case((torch.tensor([[[4.0]]], dtype=torch.float64),), what="one dimension, E = 2 y^2"),
        Case((_spd(g, 3, 2, 0.5, 4.0),), what="three bowls in 2-D", hint=hint),
        Case((_spd(g, 3, 5, 0.1, 10.0),), what="three narrow valleys in 5-D", hint=hint),
        Case(
            (_spd(g, 2, 3, 20.0, 60.0),),
            what="two steep bowls in 3-D",
            hint="a steep bowl (large curvature) needs a small step",
        ),
    ]


def check_largest_stable_lr(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(H) -> lr_max``: for a batch of Hessians ``H`` ``(m, d, d)`` of quadratic
    energies :math:`\tfrac12 (y-c)^\top H (y-c)`, the predicted largest step size at which
    gradient descent still converges, against the one measured by running it (to 2 %)."""
    return check(
        fn,
        _largest_stable_lr_reference,
        _stable_lr_cases,
        name="largest_stable_lr",
        compare=allclose(0.02, 1e-6),
        quiet=quiet,
    )


EXERCISES = {
    "gibbs": Exercise(
        check_gibbs, _gibbs_reference, "Turn energies into Gibbs probabilities, stably", "easy", 10
    ),
    "descend": Exercise(
        check_descend,
        _descend_reference,
        "Inference by gradient descent with autograd",
        "medium",
        15,
    ),
    "chain_min": Exercise(
        check_chain_min,
        _chain_min_reference,
        "Exact min-sum inference on a chain of energy terms",
        "hard",
        25,
    ),
    "largest_stable_lr": Exercise(
        check_largest_stable_lr,
        _largest_stable_lr_reference,
        "Predict from the curvature when gradient-descent inference diverges; test it by running",
        "medium",
        20,
    ),
}
