"""Unit and property tests for ebmlab.energy: free energies, Gibbs, inference, chains."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ebmlab
from ebmlab.energy import (
    chain_argmin,
    chain_energy,
    free_energy,
    free_energy_min,
    gibbs,
    grid_1d,
    grid_2d,
    infer,
    minimize,
)

energies = arrays(
    np.float64,
    st.integers(1, 30),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
).map(torch.from_numpy)
betas = st.floats(1e-3, 1e3)


# --- free energy: the normalised form is a soft minimum --------------------------------------
@given(energies, betas)
def test_normalised_free_energy_lies_between_min_and_mean(E, beta):
    F = free_energy(E, beta)
    assert E.min() - 1e-9 <= F <= E.mean() + 1e-9 * (1 + E.abs().max())


@given(energies, betas, betas)
def test_free_energy_decreases_with_beta(E, b1, b2):
    lo, hi = sorted([b1, b2])
    assert free_energy(E, hi) <= free_energy(E, lo) + 1e-9 * (1 + E.abs().max())


@given(energies)
def test_free_energy_tends_to_min_and_mean(E):
    # |F_beta - min| <= log(N)/beta and |F_beta - mean| <= beta * spread^2 / 2 (a Taylor bound)
    n = E.numel()
    assert abs(free_energy(E, 1e6) - E.min()) <= math.log(n) / 1e6 + 1e-9
    spread = float(E.max() - E.min())
    beta = 1e-6
    assert abs(free_energy(E, beta) - E.mean()) <= beta * spread**2 / 2 + 1e-9


@given(energies, betas, st.floats(1e-3, 10))
def test_integral_form_is_normalised_form_shifted_by_log_volume(E, beta, dz):
    volume = E.numel() * dz
    shifted = free_energy(E, beta) - math.log(volume) / beta
    assert torch.allclose(free_energy(E, beta, dz=dz), shifted, rtol=1e-9, atol=1e-9)


def test_beta_infinity_is_the_minimum_in_both_forms():
    E = torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    assert torch.equal(free_energy(E, math.inf), torch.tensor([1.0, -1.0]))
    assert torch.equal(free_energy(E, math.inf, dz=0.1), torch.tensor([1.0, -1.0]))
    assert torch.equal(free_energy_min(E, dim=0), torch.tensor([0.5, 1.0, -1.0]))


def test_free_energy_is_stable_for_huge_energies():
    E = torch.tensor([1e4, 1e4 + 1.0])
    F = free_energy(E, beta=10.0)
    assert torch.isfinite(F) and 1e4 <= F <= 1e4 + 0.5


def test_integral_form_matches_a_known_gaussian_integral():
    # E(z) = z^2 / 2 on a wide grid: integral of exp(-beta E) dz = sqrt(2 pi / beta)
    z, dz = grid_1d(-20, 20, 4001, dtype=torch.float64)
    beta = 2.0
    expected = -math.log(math.sqrt(2 * math.pi / beta)) / beta
    assert free_energy(z**2 / 2, beta, dz=dz).item() == pytest.approx(expected, abs=1e-8)


def test_free_energy_with_cell_volumes_tensor():
    E = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([0.1, 0.2, 0.3])
    expected = -torch.log((torch.exp(-E) * w).sum())
    assert torch.allclose(free_energy(E, 1.0, dz=w), expected)


# --- Gibbs ----------------------------------------------------------------------------------
@given(energies, betas)
def test_gibbs_is_a_distribution_that_prefers_low_energy(E, beta):
    p = gibbs(E, beta)
    assert torch.isclose(p.sum(), torch.tensor(1.0, dtype=p.dtype))
    assert bool((p >= 0).all())
    assert p[E.argmin()] == p.max()


def test_gibbs_density_integrates_to_one():
    y, dy = grid_1d(-5, 5, 500, dtype=torch.float64)
    p = gibbs((y - 1) ** 2, beta=3.0, dy=dy)
    assert (p.sum() * dy).item() == pytest.approx(1.0)
    # the density of exp(-3 (y-1)^2) is a Gaussian with variance 1/6, peak sqrt(3/pi)
    assert p.max().item() == pytest.approx(math.sqrt(3 / math.pi), rel=1e-3)


def test_gibbs_and_free_energy_are_consistent():
    # log P(y_i) = -beta (E_i - F_beta) - log N for the normalised form
    E = torch.tensor([0.3, 1.2, -0.4, 2.0], dtype=torch.float64)
    beta = 1.7
    lhs = torch.log(gibbs(E, beta))
    rhs = -beta * (E - free_energy(E, beta)) - math.log(4)
    assert torch.allclose(lhs, rhs)


# --- inference ------------------------------------------------------------------------------
def test_minimize_reaches_the_minimum_of_a_quadratic():
    c = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    res = minimize(lambda u: ((u - c) ** 2).sum(1), torch.zeros(2, 2), steps=200, lr=0.1)
    assert torch.allclose(res.argmin, c, atol=1e-5)
    assert torch.allclose(res.value, torch.zeros(2), atol=1e-9)
    assert res.path is None


def test_minimize_records_the_path_and_one_step_is_a_gradient_step():
    res = minimize(lambda u: (u**2).sum(1), torch.tensor([[1.0]]), steps=1, lr=0.25, record=True)
    assert res.path.shape == (2, 1, 1)
    assert torch.allclose(res.path[1], torch.tensor([[0.5]]))  # 1 - 0.25 * 2


def test_minimize_does_not_touch_the_energy_parameters():
    w = torch.nn.Parameter(torch.tensor([2.0]))
    minimize(lambda u: ((u - w) ** 2).sum(1), torch.zeros(3, 1), steps=5, lr=0.1)
    assert w.grad is None


def test_infer_keeps_the_best_start_per_input():
    # a double well with an asymmetric tilt: the lower valley is at y ~ -1
    def F(x, y):
        return ((y**2 - 1) ** 2 + 0.3 * y + 0 * x).sum(1)

    x = torch.zeros(2, 1)
    starts = torch.tensor([[[0.9], [0.9]], [[-0.9], [0.8]]])  # (S=2, B=2, 1)
    res = infer(F, x, starts, steps=300, lr=0.02)
    assert res.argmin[0, 0] < -0.9  # found the deeper valley from its second start
    assert res.argmin[1, 0] > 0.9  # both starts of x[1] stay in the shallow valley
    assert res.value[0] < res.value[1]


# --- grids ----------------------------------------------------------------------------------
def test_grids_are_cell_centres_in_row_major_order():
    u, du = grid_1d(0, 1, 4)
    assert du == 0.25 and torch.allclose(u, torch.tensor([0.125, 0.375, 0.625, 0.875]))
    U, V, pts = grid_2d(-1, 1, 3)
    assert U.shape == V.shape == (3, 3) and pts.shape == (9, 2)
    assert torch.equal(pts[:, 0].reshape(3, 3), U) and torch.equal(pts[:, 1].reshape(3, 3), V)


# --- chains ---------------------------------------------------------------------------------
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**16))
def test_dynamic_programming_equals_brute_force(n, K, seed):
    g = torch.Generator().manual_seed(seed)
    unary, pairwise = torch.rand(n, K, generator=g), torch.rand(K, K, generator=g)
    all_states = torch.tensor(list(itertools.product(range(K), repeat=n)))
    E = chain_energy(all_states, unary, pairwise)
    best = chain_argmin(unary, pairwise)
    assert isinstance(best, ebmlab.Minimum) and best.path is None
    assert best.value.item() == pytest.approx(E.min().item())
    assert chain_energy(best.argmin, unary, pairwise).item() == pytest.approx(E.min().item())


def test_chain_energy_by_hand():
    unary = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    pairwise = torch.tensor([[0.0, 10.0], [20.0, 0.0]])
    assert chain_energy(torch.tensor([0, 1]), unary, pairwise).item() == 0 + 3 + 10


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: free_energy(torch.ones(3), 0.0), ValueError, "beta"),
        (lambda: free_energy(torch.ones(3), -1.0), ValueError, "beta"),
        (lambda: free_energy(torch.ones(3), float("nan")), ValueError, "beta"),
        (lambda: free_energy(torch.ones(3), "hot"), TypeError, "beta"),
        (lambda: free_energy(torch.tensor([1.0, float("nan")]), 1.0), ValueError, "energies"),
        (lambda: free_energy(torch.empty(0), 1.0), ValueError, "energies"),
        (lambda: free_energy(torch.ones(3), 1.0, dim=2), ValueError, "dim"),
        (lambda: free_energy(torch.ones(3), 1.0, dz=0.0), ValueError, "dz"),
        (lambda: free_energy(torch.ones(3), 1.0, dz=torch.tensor([1.0, -1, 1])), ValueError, "dz"),
        (lambda: free_energy(torch.ones(3), 1.0, dz=torch.ones(2)), ValueError, "dz"),
        (lambda: free_energy("abc", 1.0), TypeError, "energies"),
        (lambda: free_energy(torch.tensor(1.0), 1.0), ValueError, "energies"),
        (lambda: free_energy_min(torch.ones(2), dim=1), ValueError, "dim"),
        (lambda: gibbs(torch.ones(3), 0.0), ValueError, "beta"),
        (lambda: gibbs(torch.ones(3), 1.0, dy=-1.0), ValueError, "dy"),
        (lambda: gibbs(torch.tensor([True, False]), 1.0), TypeError, "energies"),
        (lambda: minimize("f", torch.zeros(1, 1)), TypeError, "energy"),
        (lambda: minimize(lambda u: u.sum(1), torch.zeros(1, 1), steps=-1), ValueError, "steps"),
        (lambda: minimize(lambda u: u.sum(1), torch.zeros(1, 1), lr=0.0), ValueError, "lr"),
        (lambda: minimize(lambda u: u.sum(), torch.zeros(2, 1), steps=1), ValueError, "energy"),
        (lambda: minimize(lambda u: u.sum(1), torch.zeros(1, 1), record=1), TypeError, "record"),
        (
            lambda: minimize(lambda u: u.sum(1), torch.tensor([[1.0, float("nan")]])),
            ValueError,
            "init",
        ),
        (
            lambda: infer(
                lambda x, y: y.sum(1), torch.zeros(2, 1), torch.zeros(3, 2, 1), steps=2.5
            ),
            TypeError,
            "steps",
        ),
        (
            lambda: infer(lambda x, y: y.sum(1), torch.zeros(2, 1), torch.zeros(3, 1)),
            ValueError,
            "y_starts",
        ),
        (
            lambda: infer(lambda x, y: y.sum(1), torch.zeros(2, 1), torch.zeros(3, 4, 1)),
            ValueError,
            "y_starts",
        ),
        (lambda: grid_1d(1, 0, 5), ValueError, "high"),
        (lambda: grid_1d(0, 1, 0), ValueError, "n"),
        (lambda: grid_2d(0, 1, 2.5), TypeError, "n"),
        (
            lambda: chain_energy(torch.tensor([0, 2]), torch.zeros(2, 2), torch.zeros(2, 2)),
            ValueError,
            "states",
        ),
        (
            lambda: chain_energy(torch.tensor([0.0, 1.0]), torch.zeros(2, 2), torch.zeros(2, 2)),
            TypeError,
            "states",
        ),
        (
            lambda: chain_energy(torch.tensor([0, 1, 1]), torch.zeros(2, 2), torch.zeros(2, 2)),
            ValueError,
            "states",
        ),
        (lambda: chain_argmin(torch.zeros(2, 3), torch.zeros(2, 2)), ValueError, "pairwise"),
        (lambda: chain_argmin(torch.zeros(3), torch.zeros(3, 3)), ValueError, "unary"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_each_function_declares_its_checks_and_its_body_runs_unchecked():
    # the package's own callers, whose inputs are checked already, call the body alone
    for fn in (free_energy, free_energy_min, gibbs, minimize, infer, grid_1d, chain_argmin):
        assert callable(fn.__wrapped__) and fn.constraints, fn.__name__
    assert set(minimize.constraints) == {"energy", "init", "steps", "lr", "record"}
    init = torch.tensor([[1.0], [-2.0]])
    checked = minimize(lambda u: (u**2).sum(1), init, steps=3, lr=0.1, record=True)
    body = minimize.__wrapped__(lambda u: (u**2).sum(1), init, steps=3, lr=0.1, record=True)
    assert all(torch.equal(a, b) for a, b in zip(checked, body))
    E = torch.tensor([[0.0, 1.0, 3.0]])
    assert torch.equal(free_energy.__wrapped__(E, 2.0, dim=1), free_energy(E, 2.0, dim=1))


def test_functions_accept_numpy_and_lists_and_keep_float64():
    assert free_energy([1.0, 2.0], 1.0).dtype == torch.get_default_dtype()
    assert free_energy(np.array([1.0, 2.0]), 1.0).dtype == torch.float64
    assert ebmlab.gibbs(torch.tensor([1.0, 2.0], dtype=torch.float64), 1.0).dtype == torch.float64
