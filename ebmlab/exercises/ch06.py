"""Checks for chapter 6 (sparse coding: shrinkage, ISTA and FISTA)."""

from __future__ import annotations

import torch

from ..sparse import fista_step, ista_step, random_dictionary, shrink
from . import Exercise
from ._compare import pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_shrink", "check_ista_step", "check_fista_step", "EXERCISES"]


def _shrink_reference(x: torch.Tensor, threshold: float) -> torch.Tensor:
    return shrink(x, threshold)


def _shrink_cases(seed: int) -> list[Case]:
    g = rng(606, seed)
    return [
        Case((torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5]), 1.0), what="five numbers, threshold 1"),
        Case(
            (torch.tensor([-0.2, 0.1, 0.05]), 0.5),
            what="everything inside the threshold",
            hint="entries with |x| <= threshold become exactly 0, never negative of their sign",
        ),
        Case(
            (torch.randn(4, 6, generator=g), 0.3),
            what="a (4, 6) batch",
            hint="work elementwise; keep the shape of x",
        ),
        Case(
            (torch.randn(10, generator=g), 0.0),
            what="threshold 0 leaves x unchanged",
        ),
        Case(
            (torch.tensor([-3.0, 3.0]), 2.0),
            what="negative entries move up towards 0",
            hint="sign(x) * max(|x| - threshold, 0): a negative entry becomes less negative",
        ),
    ]


def check_shrink(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(x, threshold)``: soft thresholding
    :math:`\operatorname{sign}(x)\max(|x| - \theta, 0)`, elementwise."""
    return check(fn, _shrink_reference, _shrink_cases, name="shrink", quiet=quiet)


def _problem(B: int, n: int, k: int, seed: int):
    g = rng(0, seed)
    W = random_dictionary(n, k, seed=seed % 2**31)
    Y = torch.randn(B, n, generator=g)
    Z = torch.randn(B, k, generator=g) * (torch.rand(B, k, generator=g) < 0.3)
    L = float(torch.linalg.eigvalsh((W.T @ W).double())[-1])
    return Y, W, Z, L


def _ista_reference(Y, W, Z, lam, L):
    return ista_step(Y, W, Z, lam, L)


def _ista_cases(seed: int) -> list[Case]:
    cases = []
    Y, W, Z, L = _problem(1, 3, 4, 1 + 10 * seed)
    cases.append(Case((Y, W, torch.zeros_like(Z), 0.1, L), what="one signal, starting from Z = 0"))
    Y, W, Z, L = _problem(5, 8, 12, 2 + 10 * seed)
    cases.append(
        Case(
            (Y, W, Z, 0.2, L),
            what="a batch of 5 signals (rows), 12 atoms",
            hint="rows are signals: the reconstruction is Z @ W.T and the gradient (Z @ W.T - Y) @ W",
        )
    )
    cases.append(
        Case(
            (Y, W, Z, 0.2, 2 * L),
            what="a smaller step (L doubled)",
            hint="both the gradient step and the threshold are divided by L: shrink by lam / L",
        )
    )
    cases.append(Case((Y, W, Z, 0.0, L), what="lam = 0: a plain gradient step"))
    return cases


def check_ista_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, W, Z, lam, L)``: one ISTA step
    :math:`\operatorname{shrink}_{\lambda/L}(z - \frac1L W^\top(Wz - y))`, rows as signals."""
    return check(
        fn,
        _ista_reference,
        _ista_cases,
        name="ista_step",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


def _fista_reference(Y, W, Z, Z_prev, t, lam, L):
    return fista_step(Y, W, Z, Z_prev, t, lam, L)


def _fista_cases(seed: int) -> list[Case]:
    Y, W, Z, L = _problem(6, 8, 16, 3 + 10 * seed)
    g = rng(33, seed)
    Z_prev = Z + 0.1 * torch.randn(Z.shape, generator=g)
    return [
        Case((Y, W, Z, Z.clone(), 1.0, 0.1, L), what="t = 1 and Z_prev = Z: an ISTA step"),
        Case(
            (Y, W, Z, Z_prev, 1.0, 0.1, L),
            what="t = 1: no momentum yet, whatever Z_prev",
            hint="the extrapolation weight is (t - 1) / t_next, which is 0 when t = 1",
        ),
        Case(
            (Y, W, Z, Z_prev, 3.0, 0.1, L),
            what="t = 3: momentum",
            hint="t_next = (1 + sqrt(1 + 4 t^2)) / 2; X = Z + (t - 1) / t_next * (Z - Z_prev); "
            "then take the ISTA step from X, not from Z",
        ),
        Case((Y, W, Z, Z_prev, 7.5, 0.3, 1.5 * L), what="t = 7.5, a larger lam and L"),
    ]


def check_fista_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, W, Z, Z_prev, t, lam, L) -> (Z_next, t_next)``: one FISTA step
    (extrapolate with :math:`(t_k-1)/t_{k+1}`, then an ISTA step from the extrapolated point)."""
    return check(
        fn,
        _fista_reference,
        _fista_cases,
        name="fista_step",
        compare=pair(("Z_next", "t_next"), allclose(1e-4, 1e-5), allclose(1e-6, 0.0)),
        quiet=quiet,
    )


EXERCISES = {
    "shrink": Exercise(
        check_shrink, _shrink_reference, "Soft thresholding, the prox of the L1 norm", "easy", 10
    ),
    "ista_step": Exercise(
        check_ista_step,
        _ista_reference,
        "One ISTA step: gradient step on the quadratic, then shrinkage",
        "medium",
        15,
    ),
    "fista_step": Exercise(
        check_fista_step,
        _fista_reference,
        "One FISTA step: Nesterov extrapolation before the ISTA step",
        "medium",
        20,
    ),
}
