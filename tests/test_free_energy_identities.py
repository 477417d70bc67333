"""The free-energy identities of chapter 3, pinned on latent-variable energies.

F_beta = -1/beta log( mean_z exp(-beta E) ) (normalised) lies between min_z E and mean_z E,
decreases with beta, tends to the min (beta -> inf) and to the mean (beta -> 0); the integral
form is lower by (1/beta) log|Z|; and marginalising z from the joint Gibbs distribution of
E(y, z) gives the Gibbs distribution of F_beta(y).
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ebmlab
from ebmlab import latent
from ebmlab.energy import free_energy, free_energy_min, gibbs, grid_1d

# tables E[i, j] = E(y_i, z_j): a few y, a few z
tables = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 25)),
    elements=st.floats(-30, 30, allow_nan=False, allow_infinity=False),
).map(torch.from_numpy)
betas = st.floats(1e-2, 1e2)


def _tol(E):
    return 1e-9 * (1 + float(E.abs().max()))


@given(tables, betas)
def test_soft_minimum_between_min_and_mean_over_z(E, beta):
    F = free_energy(E, beta, dim=1)
    assert F.shape == (E.shape[0],)
    assert bool((F >= free_energy_min(E, dim=1) - _tol(E)).all())
    assert bool((F <= E.mean(dim=1) + _tol(E)).all())


@given(tables, betas, betas)
def test_free_energy_decreases_as_beta_grows(E, b1, b2):
    lo, hi = sorted([b1, b2])
    assert bool((free_energy(E, hi, dim=1) <= free_energy(E, lo, dim=1) + _tol(E)).all())


@given(tables)
def test_limits_min_and_mean(E):
    n = E.shape[1]
    # 0 <= F_beta - min <= log(N)/beta: the gap closes like 1/beta
    gap = free_energy(E, 1e4, dim=1) - free_energy_min(E, dim=1)
    assert bool((gap >= -_tol(E)).all()) and bool((gap <= math.log(n) / 1e4 + _tol(E)).all())
    # mean - F_beta <= beta * spread^2 / 2 (second-order bound), so F_beta -> mean as beta -> 0
    spread = (E.max(dim=1).values - E.min(dim=1).values) ** 2
    beta = 1e-5
    assert bool(
        ((E.mean(dim=1) - free_energy(E, beta, dim=1)) <= beta * spread / 2 + _tol(E)).all()
    )


def test_infinite_beta_is_the_minimum_not_the_minimiser():
    # ERRATA 2: F_inf is the minimum value of E over z, not argmin_z E
    E = torch.tensor([[3.0, 0.5, 2.0], [1.0, 4.0, -1.0]])
    assert torch.equal(free_energy(E, math.inf, dim=1), torch.tensor([0.5, -1.0]))
    assert torch.equal(free_energy_min(E, dim=1), torch.tensor([0.5, -1.0]))


@given(tables, betas, st.floats(1e-3, 10.0))
def test_integral_form_is_shifted_by_log_volume(E, beta, dz):
    volume = E.shape[1] * dz
    shift = free_energy(E, beta, dim=1) - free_energy(E, beta, dim=1, dz=dz)
    assert torch.allclose(shift, torch.full_like(shift, math.log(volume) / beta), atol=1e-7)


def test_integral_form_matches_a_closed_form_integral():
    # E(y, z) = (y - z)^2 on a wide z interval: int exp(-beta (y - z)^2) dz = sqrt(pi / beta)
    z, dz = grid_1d(-30.0, 30.0, 6000, dtype=torch.float64)
    y = torch.tensor([[-1.0], [0.0], [2.5]], dtype=torch.float64)
    for beta in (0.5, 1.0, 4.0):
        F = free_energy((y - z[None, :]) ** 2, beta, dim=1, dz=dz)
        exact = -math.log(math.sqrt(math.pi / beta)) / beta
        assert torch.allclose(F, torch.full_like(F, exact), atol=1e-8)
        # the normalised form differs by (1/beta) log|Z|, |Z| = 60
        Fn = free_energy((y - z[None, :]) ** 2, beta, dim=1)
        assert torch.allclose(Fn - F, torch.full_like(F, math.log(60.0) / beta), atol=1e-8)


@given(tables, betas)
def test_marginalising_z_gives_the_gibbs_distribution_of_F_beta(E, beta):
    # P(y_i) = sum_j P(y_i, z_j) with P(y, z) the Gibbs distribution of E over all (y, z) cells
    joint = torch.softmax(-beta * E.reshape(-1), dim=0).reshape(E.shape)
    marginal = joint.sum(dim=1)
    for dz in (None, 0.37):
        F = free_energy(E, beta, dim=1, dz=dz)
        assert torch.allclose(gibbs(F, beta, dim=0), marginal, atol=1e-10, rtol=1e-8)


def test_marginal_density_on_the_ellipse_integrates_to_one_and_matches_exp_minus_beta_F():
    # p(y) = exp(-beta F_beta(y)) / int exp(-beta F_beta(y')) dy' on a 2-D grid, with the
    # integral form of F_beta: exp(-beta F_beta(y)) = int exp(-beta E(y, z)) dz exactly
    U, V, pts = ebmlab.grid_2d(-3.0, 3.0, 60, dtype=torch.float64)
    dy = (6.0 / 60) ** 2
    z, dz = grid_1d(0.0, 2 * math.pi, 128, dtype=torch.float64)
    E = latent.latent_energies(pts, lambda t: latent.ellipse_decoder(t, 2.0, 1.0), z)
    beta = 3.0
    F = free_energy(E, beta, dim=1, dz=dz)
    assert torch.allclose(torch.exp(-beta * F), (torch.exp(-beta * E) * dz).sum(dim=1))
    p = gibbs(F, beta, dim=0, dy=dy)
    assert abs(float(p.sum() * dy) - 1.0) < 1e-10


def test_zero_temperature_free_energy_of_the_ellipse_at_known_points():
    z, _ = grid_1d(0.0, 2 * math.pi, 4096, dtype=torch.float64)

    def g(t):
        return latent.ellipse_decoder(t, 2.0, 1.0)

    y = torch.tensor(
        [[0.0, 0.0], [2.0, 0.0], [0.0, -1.0], [3.0, 0.0], [0.0, 2.5]], dtype=torch.float64
    )
    F = free_energy_min(latent.latent_energies(y, g, z), dim=1)
    # centre: nearest points are the ends of the short axis (w2^2); on the curve: 0;
    # on an axis outside the curve: the squared distance to the axis' end
    expected = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.25], dtype=torch.float64)
    assert torch.allclose(F, expected, atol=1e-5)


def test_warm_limit_of_the_ellipse_is_a_paraboloid_centred_at_the_origin():
    # mean_z ||y - g(z)||^2 = ||y||^2 + (w1^2 + w2^2) / 2 for z uniform on [0, 2 pi)
    z, _ = grid_1d(0.0, 2 * math.pi, 512, dtype=torch.float64)
    y = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    E = latent.latent_energies(y, lambda t: latent.ellipse_decoder(t, 2.0, 1.0), z)
    expected = (y**2).sum(1) + (4.0 + 1.0) / 2
    assert torch.allclose(E.mean(dim=1), expected, atol=1e-10)
    assert torch.allclose(free_energy(E, 1e-6, dim=1), expected, atol=1e-4)


@pytest.mark.parametrize("beta", [0.5, 2.0, 20.0])
def test_free_energy_of_discrete_latent_matches_definition(beta):
    # K hypotheses: F_beta = -1/beta log (1/K sum_k exp(-beta E_k))
    model = latent.MultiHypothesis(1, 2, k=3, hidden=8, seed=1)
    x = torch.randn(5, 1, generator=torch.Generator().manual_seed(1))
    y = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        E = model.energies(x, y)
        F = model.free_energy(x, y, beta)
    direct = -torch.log(torch.exp(-beta * E).mean(dim=1)) / beta
    assert torch.allclose(F, direct, atol=1e-5)
    assert torch.allclose(model.free_energy(x, y).detach(), E.min(dim=1).values)
