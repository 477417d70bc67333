"""Checks for chapter 6 (sparse coding: shrinkage, ISTA and FISTA, a dictionary step, a λ sweep)."""

from __future__ import annotations

import torch

from ..sparse import fista, fista_step, ista_step, normalize_atoms, random_dictionary, shrink
from . import Exercise
from ._compare import pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_shrink", "check_ista_step", "check_fista_step", "check_dictionary_step"]
__all__ += ["check_lambda_sweep", "EXERCISES"]


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


def _dictionary_step_reference(Y, W, Z, lr):
    R = Y - Z @ W.T  # the residuals, one row per signal
    return normalize_atoms(W + lr * R.T @ Z / Y.shape[0])


def _dictionary_step_cases(seed: int) -> list[Case]:
    g = rng(607, seed)
    Y, W, Z, _ = _problem(8, 5, 9, 4 + 10 * seed)
    W_loose = W * (0.5 + torch.rand(9, generator=g))  # atoms of any norm
    y1 = torch.randn(1, 5, generator=g)
    z1 = torch.randn(1, 9, generator=g)
    return [
        Case((y1, W, z1, 0.1), what="one signal (a batch of 1)"),
        Case(
            (Y, W, Z, 0.5),
            what="a batch of 8 signals, 5 pixels, 9 atoms",
            hint="the gradient of the mean over the batch: divide R.T @ Z by the number of "
            "signals; then renormalise every column (atom), not every row",
        ),
        Case(
            (Y, W_loose, Z, 0.0),
            what="lr = 0: only the renormalisation",
            hint="after the step every atom (column of W) has norm 1, each divided by its own "
            "norm — not by the sum of the norms",
        ),
        Case(
            (Y, W_loose, Z, 2.0),
            what="a large step from atoms of any norm",
            hint="step first (W + lr * R.T @ Z / B, with R = Y - Z @ W.T), then renormalise",
        ),
    ]


def check_dictionary_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, W, Z, lr)``: one gradient step on the atoms with the codes fixed,
    :math:`W \leftarrow W + \frac{\eta}{B}\,(Y - ZW^\top)^\top Z`, then every column
    renormalised to unit norm."""
    return check(
        fn,
        _dictionary_step_reference,
        _dictionary_step_cases,
        name="dictionary_step",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


#: FISTA iterations of the λ sweep (the exercise's text says so).
SWEEP_STEPS = 200


def _lambda_sweep_reference(Y, W, lams):
    nonzeros, errors = [], []
    for lam in lams:
        Z = fista(Y, W, lam, SWEEP_STEPS).z
        nonzeros.append((Z != 0).sum(dim=1).double().mean())
        errors.append(((Y - Z @ W.T).norm() / Y.norm()).double())
    return torch.stack(nonzeros), torch.stack(errors)


def _sweep_data(n: int, k: int, B: int, g: torch.Generator, seed: int):
    W = random_dictionary(n, k, seed=seed % 2**31)
    Z = torch.randn(B, k, generator=g) * (torch.rand(B, k, generator=g) < 0.15)
    return Z @ W.T + 0.05 * torch.randn(B, n, generator=g), W


def _lambda_sweep_cases(seed: int) -> list[Case]:
    g = rng(608, seed)
    Y, W = _sweep_data(16, 32, 40, g, 5 + 10 * seed)
    Y2, W2 = _sweep_data(10, 20, 25, g, 6 + 10 * seed)
    return [
        Case((Y, W, [0.3]), what="one value of lam"),
        Case(
            (Y, W, [0.02, 0.1, 0.3, 1.0]),
            what="four values of lam on 40 signals",
            hint="for each lam: Z = sparse.fista(Y, W, lam, 200).z; the mean over signals of "
            "the count of non-zero entries of each code, and ||Y - Z W^T|| / ||Y|| over the "
            "whole batch",
        ),
        Case(
            (Y2, W2, [0.05, 0.5, 50.0]),
            what="a lam so large that every code is 0",
            hint="with every code 0 the reconstruction is 0: 0 non-zero entries and a relative "
            "error of exactly 1",
        ),
    ]


def check_lambda_sweep(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, W, lams) -> (nonzeros, errors)``: for each :math:`\lambda`, the codes of
    ``sparse.fista(Y, W, lam, 200)``, their mean number of non-zero entries and the relative
    reconstruction error :math:`\lVert Y - ZW^\top\rVert_F / \lVert Y\rVert_F`."""
    return check(
        fn,
        _lambda_sweep_reference,
        _lambda_sweep_cases,
        name="lambda_sweep",
        compare=pair(("nonzeros", "errors"), allclose(1e-6, 1e-6), allclose(1e-4, 1e-6)),
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
    "dictionary_step": Exercise(
        check_dictionary_step,
        _dictionary_step_reference,
        "One dictionary-learning step: a gradient step on the atoms, then unit-norm columns",
        "medium",
        15,
    ),
    "lambda_sweep": Exercise(
        check_lambda_sweep,
        _lambda_sweep_reference,
        "An experiment: how sparsity and reconstruction error trade off as lambda grows",
        "medium",
        25,
    ),
}
