"""Checks for chapter 4 (training energy-based models: contrastive and architectural methods)."""

from __future__ import annotations

import math

import torch

from ..energy import gibbs
from ..samplers import langevin_step
from ..training import nll_loss
from . import Exercise
from ._core import Case, CheckResult, allclose, check, rng

__all__ = [
    "check_langevin_step",
    "check_nll",
    "check_nll_gradient",
    "check_cd1_update",
    "check_cd_fixed_point",
    "EXERCISES",
]


# --------------------------------------------------------------------------- energies for cases


def _quadratic(center: torch.Tensor, scale: float):
    return lambda y: 0.5 * scale * ((y - center) ** 2).sum(dim=-1)


def _double_well(y: torch.Tensor) -> torch.Tensor:
    return ((y**2 - 1.0) ** 2).sum(dim=-1)


def _features(y: torch.Tensor) -> torch.Tensor:
    """Features of a linear-in-parameters energy E(y) = features(y) @ w, for 2-D points."""
    return torch.stack(
        [y[:, 0], y[:, 1], y[:, 0] ** 2, y[:, 1] ** 2, y[:, 0] * y[:, 1], torch.sin(3 * y[:, 0])],
        dim=1,
    )


# --------------------------------------------------------------------------- Langevin step


def _langevin_reference(energy, y, noise, step_size, noise_scale):
    return langevin_step(energy, y, noise, step_size, noise_scale)


def _langevin_cases(seed: int) -> list[Case]:
    g = rng(404, seed)
    y = torch.randn(5, 2, generator=g)
    eps = torch.randn(5, 2, generator=g)
    c = torch.randn(5, 2, generator=g)
    return [
        Case(
            (_quadratic(torch.zeros(2), 1.0), y, torch.zeros(5, 2), 0.1, 0.0),
            what="no noise: one gradient step",
        ),
        Case(
            (_quadratic(c, 2.0), y, eps, 0.05, 0.3),
            what="a quadratic bowl with noise scale 0.3",
            hint="add noise_scale * noise after the gradient step",
        ),
        Case(
            (_double_well, y, eps, 0.01, None),
            what="noise_scale=None",
            hint="the default noise scale is sqrt(2 * step_size) (beta = 1)",
        ),
        Case(
            (
                _double_well,
                torch.randn(3, 4, generator=g),
                torch.randn(3, 4, generator=g),
                0.02,
                0.1,
            ),
            what="4-D points, 3 rows",
            hint="take the gradient of energy(y).sum(): each row gets its own gradient",
        ),
        Case(
            (_quadratic(c, 2.0), y, eps, 0.05, 0.0),
            what="noise_scale = 0 with non-zero draws: no noise",
            hint="0 is a scale, not a missing value: test `noise_scale is None`, "
            "not `noise_scale or ...`",
        ),
    ]


def check_langevin_step(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(energy, y, noise, step_size, noise_scale)``: one Langevin step
    :math:`y - \eta\nabla_y E(y) + \sigma\varepsilon` (:math:`\sigma = \sqrt{2\eta}` when
    ``noise_scale`` is ``None``)."""
    return check(
        fn,
        _langevin_reference,
        _langevin_cases,
        name="langevin_step",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- NLL


def _nll_reference(e_data, e_grid, beta, cell):
    return nll_loss(e_data, e_grid, beta, cell)


def _nll_cases(seed: int) -> list[Case]:
    g = rng(8, seed)
    return [
        Case(
            (torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0, 2.0, 3.0]), 1.0, 1.0),
            what="tiny",
            hint="mean data energy + (1/beta) * LOG of sum(exp(-beta E_grid)) * cell",
        ),
        Case(
            (torch.rand(10, generator=g), torch.rand(50, generator=g) * 3, 1.0, 0.01),
            what="cell = 0.01",
            hint="the integral is a sum of exp(-beta E) times the cell's volume; and take its log",
        ),
        Case(
            (torch.rand(10, generator=g), torch.rand(50, generator=g) * 3, 0.25, 0.1),
            what="beta = 0.25",
            hint="the second term is (1/beta) * log(integral)",
        ),
        Case(
            (torch.rand(10, generator=g) * 50, torch.rand(400, generator=g) * 300, 5.0, 0.01),
            what="large energies and beta = 5",
            hint="exp(-beta E) underflows: use torch.logsumexp",
        ),
        Case(
            (torch.rand(10, generator=g) * 50, torch.rand(400, generator=g) * 300 + 100, 5.0, 0.01),
            what="grid energies all above 100, beta = 5",
            hint="exp(-500) is 0 even in float64 and log(0) = -inf: use torch.logsumexp",
        ),
        Case(
            (torch.rand(10, generator=g) - 50, torch.rand(400, generator=g) * 10 - 60, 2.0, 0.01),
            what="negative energies around -55, beta = 2",
            hint="exp(110) overflows float32: use torch.logsumexp",
        ),
    ]


def check_nll(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(e_data, e_grid, beta, cell)``: the mean NLL
    :math:`\overline{E(Y)} + \frac1\beta\log\sum_j e^{-\beta E(y_j)}\,\Delta`."""
    return check(fn, _nll_reference, _nll_cases, name="nll", quiet=quiet)


# --------------------------------------------------------------------------- NLL gradient


def _nll_gradient_reference(phi_data, phi_grid, w, beta):
    p = gibbs(phi_grid @ w, beta)
    return phi_data.mean(dim=0) - p @ phi_grid


def _nll_gradient_cases(seed: int) -> list[Case]:
    g = rng(31, seed)
    cases = []
    for n, m, k, beta in [(4, 9, 3, 1.0), (20, 100, 6, 0.5), (20, 100, 6, 4.0)]:
        cases.append(
            Case(
                (
                    torch.randn(n, k, generator=g),
                    torch.randn(m, k, generator=g),
                    torch.randn(k, generator=g),
                    beta,
                ),
                what=f"{n} data, {m} grid points, {k} features, beta = {beta:g}",
                hint="the model's weights are the Gibbs probabilities softmax(-beta * phi_grid @ w)",
            )
        )
    cases.append(
        Case(
            (
                torch.randn(5, 3, generator=g),
                torch.randn(30, 3, generator=g) * 40,
                torch.randn(3, generator=g),
                2.0,
            ),
            what="large energies",
            hint="compute the Gibbs weights with a softmax, not exp(...)/sum(exp(...))",
        )
    )
    return cases


def check_nll_gradient(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(phi_data, phi_grid, w, beta)``: the gradient of the NLL of the linear energy
    :math:`E_w(y) = \phi(y)^\top w`, i.e.
    :math:`\overline{\phi(Y)} - \sum_j P_w(y_j)\,\phi(y_j)`."""
    return check(
        fn,
        _nll_gradient_reference,
        _nll_gradient_cases,
        name="nll_gradient",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- CD-1


def _cd1_reference(w, features, y, noise, step_size, lr):
    def energy(u):
        return features(u) @ w

    y_neg = langevin_step(energy, y, noise, step_size, math.sqrt(2 * step_size))
    grad = features(y).mean(dim=0) - features(y_neg).mean(dim=0)
    return w - lr * grad


def _cd1_cases(seed: int) -> list[Case]:
    g = rng(55, seed)
    cases = [
        Case(
            (
                torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
                _features,
                torch.zeros(1, 2),
                torch.ones(1, 2),
                0.01,
                0.1,
            ),
            what="one point, a bowl",
        )
    ]
    for b, eta, lr in [(8, 0.01, 0.1), (32, 0.05, 0.01)]:
        cases.append(
            Case(
                (
                    torch.randn(6, generator=g),
                    _features,
                    torch.randn(b, 2, generator=g),
                    torch.randn(b, 2, generator=g),
                    eta,
                    lr,
                ),
                what=f"{b} points, step size {eta:g}, learning rate {lr:g}",
                hint=(
                    "negatives: ONE Langevin step from the data with noise_scale sqrt(2 step_size); "
                    "then w - lr * (mean features(data) - mean features(negatives))"
                ),
            )
        )
    return cases


def check_cd1_update(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(w, features, y, noise, step_size, lr)``: one CD-1 update of the linear energy
    :math:`E_w(y) = \phi(y)^\top w`."""
    return check(
        fn,
        _cd1_reference,
        _cd1_cases,
        name="cd1_update",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- experiment: CD-k


def _cd_fixed_point_reference(Y: torch.Tensor, k: int, step_size: float) -> torch.Tensor:
    r"""Measured: train :math:`E_w(y) = \tfrac12 w y^2` by CD-k (``k`` Langevin steps of size
    ``step_size`` from the data, two noise draws per point) and average ``w`` over the second
    half of 600 updates."""
    g = torch.Generator().manual_seed(44)
    Y = Y.double()
    m2 = (Y**2).mean()
    w, lr, scale = 1 / m2, 2.0 * m2**-2, math.sqrt(2 * step_size)
    start, kept = Y.repeat(2), []
    for t in range(600):
        y = start
        for _ in range(k):
            y = y - step_size * w * y + scale * torch.randn(y.shape, generator=g, dtype=y.dtype)
        w = w - lr * 0.5 * (m2 - (y**2).mean())  # dE/dw = y^2 / 2: data minus negatives
        if t >= 300:
            kept.append(w)
    return torch.stack(kept).mean().to(Y.dtype)


def _cd_fixed_point_cases(seed: int) -> list[Case]:
    g = rng(4444, seed)

    def data(s):
        return s * torch.randn(1000, generator=g, dtype=torch.float64)

    hint = (
        "the fixed point is where the negatives' second moment equals the data's; "
        "the Langevin chain of the model has its own stationary variance, which is not 1/w"
    )
    return [
        Case((data(1.0), 1, 0.2), what="CD-1, step size 0.2", hint=hint),
        Case((data(0.8), 3, 0.1), what="CD-3, step size 0.1", hint=hint),
        Case(
            (data(1.2), 10, 0.5),
            what="CD-10, step size 0.5",
            hint="does k change where the updates stop? compare CD-1 and CD-10",
        ),
        Case(
            (data(1.0), 1, 0.35),
            what="CD-1, step size 0.35",
            hint="1 / mean(Y^2) is maximum likelihood's answer, the limit of a small step only",
        ),
    ]


def check_cd_fixed_point(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(Y, k, step_size)``: the predicted precision :math:`w` where CD-k training of
    :math:`E_w(y) = \tfrac12 w y^2` on the data ``Y`` (1-D) stops, against the one measured by
    training (to 2 %)."""
    return check(
        fn,
        _cd_fixed_point_reference,
        _cd_fixed_point_cases,
        name="cd_fixed_point",
        compare=allclose(0.02, 1e-6),
        quiet=quiet,
    )


EXERCISES = {
    "langevin_step": Exercise(
        check_langevin_step,
        _langevin_reference,
        "One Langevin step: gradient descent on the energy plus scaled noise",
        "easy",
        10,
    ),
    "nll": Exercise(
        check_nll,
        _nll_reference,
        "The maximum-likelihood loss with the log of the partition function, stably",
        "easy",
        10,
    ),
    "nll_gradient": Exercise(
        check_nll_gradient,
        _nll_gradient_reference,
        "Derive and compute the NLL gradient: data term minus model expectation",
        "medium",
        20,
    ),
    "cd1_update": Exercise(
        check_cd1_update,
        _cd1_reference,
        "Write the CD-1 update: one Langevin step from the data, then the contrastive gradient",
        "hard",
        25,
    ),
    "cd_fixed_point": Exercise(
        check_cd_fixed_point,
        _cd_fixed_point_reference,
        "Predict where CD-k stops for a Gaussian energy, and whether k matters; check by training",
        "hard",
        30,
    ),
}
