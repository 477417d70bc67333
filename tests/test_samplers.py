"""Samplers of a Gibbs density: exactness against the grid, Langevin = gradient descent = its
reference, configurations and inputs."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ebmlab import energy as en
from ebmlab import samplers
from ebmlab.samplers import HMCConfig, LangevinConfig, MetropolisConfig, MonteCarloConfig

BOX = (-2.5, 2.5)


@pytest.fixture(autouse=True)
def one_thread():
    # These loops run many tiny tensor ops; one thread is faster and immune to a busy machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def three_wells(y):
    """Three Gaussian wells (a mixture's negative log density): barriers of about 2 at beta=1."""
    mu = torch.tensor([[-1.0, -0.6], [1.0, -0.6], [0.0, 1.0]], dtype=y.dtype, device=y.device)
    d2 = ((y[:, None, :] - mu[None]) ** 2).sum(-1)
    return -torch.logsumexp(-d2 / (2 * 0.35**2), dim=1)


def exact_bins(beta):
    """Gibbs probabilities on a 100x100 grid of the box, summed into 10x10 bins (rows = y2)."""
    _, _, pts = en.grid_2d(*BOX, 100, dtype=torch.float64)
    p = en.gibbs(three_wells(pts), beta)
    return p.reshape(10, 10, 10, 10).sum((1, 3))


def sample_bins(s):
    h = torch.histogramdd(s.double(), bins=[10, 10], range=[*BOX, *BOX]).hist
    return h.T / len(s)


def tv(p, q):
    return 0.5 * (p - q).abs().sum().item()


# Total-variation tolerance. With N = 3000 independent samples over ~40 occupied bins the
# sampling noise alone gives E[TV] = 0.5 * sum_b sqrt(2 p_b / (pi N)) ~ 0.05 (measured 0.03-0.05
# with N = 4000); 0.09 leaves room for the Langevin step bias while still rejecting the wrong
# temperature (the beta = 2 density is 0.19 away from beta = 1, checked below).
TOL = 0.09
N = 3000


def test_the_tolerance_can_tell_temperatures_apart():
    assert tv(exact_bins(1.0), exact_bins(2.0)) > 2 * TOL


# (name, sampler, its configuration class, settings that sample the three wells well)
SAMPLERS = [
    ("langevin", samplers.langevin, LangevinConfig, dict(steps=300, step_size=0.005)),
    ("monte_carlo", samplers.monte_carlo, MonteCarloConfig, dict(steps=200)),
    (
        "metropolis_hastings",
        samplers.metropolis_hastings,
        MetropolisConfig,
        dict(steps=300, step_size=0.5),
    ),
    ("hmc", samplers.hmc, HMCConfig, dict(steps=60, step_size=0.1, leapfrog=10)),
]
IDS = [s[0] for s in SAMPLERS]


@pytest.mark.parametrize("name,fn,cfg,kw", SAMPLERS, ids=IDS)
def test_samplers_match_the_exact_gibbs_density_on_the_grid(name, fn, cfg, kw):
    init = torch.rand(N, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    init = BOX[0] + (BOX[1] - BOX[0]) * init
    res = fn(three_wells, init, cfg(bounds=BOX, **kw), seed=0)
    assert res.samples.shape == (N, 2)
    assert tv(sample_bins(res.samples), exact_bins(1.0)) < TOL
    # and they do not match the wrong temperature
    assert tv(sample_bins(res.samples), exact_bins(2.0)) > TOL


def test_langevin_without_noise_is_gradient_descent():
    init = torch.tensor([[-0.3, 1.2], [0.4, -0.2], [2.0, 0.1]], dtype=torch.float64)
    chain = LangevinConfig(steps=40, step_size=0.02, noise_scale=0.0)
    a = samplers.langevin(three_wells, init, chain, record=True)
    b = en.minimize(three_wells, init, steps=40, lr=0.02, record=True)
    torch.testing.assert_close(a.samples, b.argmin)
    torch.testing.assert_close(a.path, b.path)
    assert a.acceptance is None


@given(
    st.floats(0.001, 0.5),
    st.floats(0.0, 2.0),
    st.floats(0.2, 5.0),
)
def test_langevin_step_on_a_quadratic_is_shrink_plus_noise(eta, sigma, a):
    g = torch.Generator().manual_seed(0)
    y = torch.randn(4, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 3, generator=g, dtype=torch.float64)
    out = samplers.langevin_step(lambda u: 0.5 * a * (u**2).sum(1), y, eps, eta, sigma)
    torch.testing.assert_close(out, (1 - eta * a) * y + sigma * eps)


def test_langevin_step_default_noise_scale_is_sqrt_two_eta_over_beta():
    y = torch.zeros(2, 2)
    eps = torch.ones(2, 2)
    out = samplers.langevin_step(lambda u: (u**2).sum(1), y, eps, 0.08, beta=2.0)
    torch.testing.assert_close(out, torch.full((2, 2), math.sqrt(0.08)))


def test_langevin_step_matches_one_step_of_langevin():
    init = torch.randn(5, 2, generator=torch.Generator().manual_seed(3))
    res = samplers.langevin(three_wells, init, LangevinConfig(steps=1, step_size=0.01), seed=7)
    eps = torch.randn(5, 2, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(res.samples, samplers.langevin_step(three_wells, init, eps, 0.01))


def test_gradient_clipping_caps_the_move():
    init = torch.tensor([[3.0, 0.0]])
    steep = lambda u: 100.0 * (u**2).sum(1)  # noqa: E731
    chain = LangevinConfig(steps=1, step_size=0.01, noise_scale=0.0, grad_clip=1.0)
    res = samplers.langevin(steep, init, chain)
    torch.testing.assert_close(res.samples, torch.tensor([[2.99, 0.0]]))


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_langevin_is_its_reference_when_clipping_and_box_are_off(beta):
    # the fast path and the formula as the book writes it: the same iterates from the same seed
    init = torch.randn(40, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    chain = LangevinConfig(steps=25, step_size=0.01, beta=beta)
    fast = samplers.langevin(three_wells, init, chain, seed=5).samples
    readable = samplers.reference.langevin(three_wells, init, 25, 0.01, beta=beta, seed=5)
    torch.testing.assert_close(fast, readable, rtol=1e-12, atol=1e-14)
    assert not init.requires_grad


@pytest.mark.parametrize("name,fn,cfg,kw", SAMPLERS, ids=IDS)
def test_same_seed_same_samples_and_bounds_respected(name, fn, cfg, kw):
    init = torch.zeros(50, 2)
    config = cfg(**dict(kw, steps=20), bounds=(-0.5, 0.5))
    a = fn(three_wells, init, config, seed=3, record=True)
    b = fn(three_wells, init, config, seed=3)
    torch.testing.assert_close(a.samples, b.samples)
    assert a.path.shape == (21, 50, 2)
    assert bool((a.path.abs() <= 0.5).all())


def test_metropolis_acceptance_falls_as_the_step_grows():
    init = torch.zeros(500, 2)
    rates = [
        samplers.metropolis_hastings(three_wells, init, MetropolisConfig(step_size=s), seed=0)
        .acceptance.mean()
        .item()
        for s in (0.05, 0.5, 3.0)
    ]
    assert 1 >= rates[0] > rates[1] > rates[2] >= 0
    assert rates[0] > 0.85 and rates[2] < 0.2


def test_hmc_with_a_small_step_accepts_almost_everything():
    # the leapfrog integrator nearly conserves H: the acceptance tends to 1 as the step shrinks
    init = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = samplers.hmc(three_wells, init, HMCConfig(steps=20, step_size=0.01, leapfrog=5), seed=0)
    assert res.acceptance.mean().item() > 0.99
    big = samplers.hmc(three_wells, init, HMCConfig(steps=20, step_size=0.6, leapfrog=5), seed=0)
    assert big.acceptance.mean().item() < 0.8


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("name,fn,cfg,kw", SAMPLERS, ids=IDS)
def test_bad_inputs_name_the_argument(name, fn, cfg, kw):
    init = torch.zeros(4, 2)
    config = cfg(bounds=BOX)
    with pytest.raises(TypeError, match="energy"):
        fn("not a function", init, config)
    with pytest.raises(ValueError, match="init"):
        fn(three_wells, torch.zeros(4), config)
    with pytest.raises(ValueError, match="init"):
        fn(three_wells, torch.tensor([[0.0, math.nan]]), config)
    with pytest.raises(ValueError, match="seed"):
        fn(three_wells, init, config, seed=-1)
    with pytest.raises(TypeError, match="record"):
        fn(three_wells, init, config, record="yes")
    with pytest.raises(TypeError, match=f"config must be a {cfg.__name__}"):
        fn(three_wells, init, dict(bounds=BOX))
    with pytest.raises(ValueError, match="energy must return one value per row"):
        fn(lambda u: u, init, cfg(bounds=BOX, steps=2))


@pytest.mark.parametrize("name,fn,cfg,kw", SAMPLERS, ids=IDS)
def test_configurations_check_their_fields_when_made(name, fn, cfg, kw):
    if "step_size" in kw:
        for bad in (0.0, -1.0):
            with pytest.raises(ValueError, match="step_size"):
                cfg(step_size=bad, bounds=BOX)
        with pytest.raises(TypeError, match="step_size"):
            cfg(step_size="0.1", bounds=BOX)
    with pytest.raises(ValueError, match="beta"):
        cfg(beta=0.0, bounds=BOX)
    with pytest.raises(TypeError, match="steps"):
        cfg(steps=2.5, bounds=BOX)
    with pytest.raises(ValueError, match="steps"):
        cfg(steps=-1, bounds=BOX)
    with pytest.raises(ValueError, match="bounds"):
        cfg(bounds=(1.0, -1.0))
    config = cfg(steps=3, bounds=[-1, 1])
    assert config.bounds == (-1.0, 1.0) and isinstance(config.bounds[0], float)
    with pytest.raises(AttributeError):
        config.steps = 4  # frozen: a configuration is checked once, when it is made
    assert fn(three_wells, torch.zeros(3, 2), config, seed=0).samples.shape == (3, 2)


def test_sampler_specific_bad_inputs():
    init = torch.zeros(4, 2)
    with pytest.raises(TypeError, match="bounds"):
        MonteCarloConfig()
    with pytest.raises(ValueError, match="bounds must be given"):
        MonteCarloConfig(bounds=None)
    with pytest.raises(ValueError, match="steps"):
        MonteCarloConfig(steps=0, bounds=BOX)
    with pytest.raises(ValueError, match="leapfrog"):
        HMCConfig(leapfrog=0)
    with pytest.raises(ValueError, match="noise_scale"):
        LangevinConfig(noise_scale=-0.1)
    with pytest.raises(ValueError, match="grad_clip"):
        LangevinConfig(grad_clip=0.0)
    with pytest.raises(TypeError):
        LangevinConfig(10)  # the settings are named
    with pytest.raises(ValueError, match="noise"):
        samplers.langevin_step(three_wells, init, torch.zeros(3, 2), 0.1)
    with pytest.raises(ValueError, match="noise"):
        samplers.langevin_step(three_wells, init, torch.full((4, 2), math.nan), 0.1)
    with pytest.raises(ValueError, match="step_size"):
        samplers.langevin_step(three_wells, init, torch.zeros(4, 2), 0.0)
    with pytest.raises(TypeError, match="energy"):
        samplers.langevin_step(None, init, torch.zeros(4, 2), 0.1)


def test_bounds_must_be_a_pair():
    with pytest.raises(TypeError, match="bounds"):
        LangevinConfig(bounds="-2, 2")
    with pytest.raises(ValueError, match="bounds"):
        LangevinConfig(bounds=(-2.0, 0.0, 2.0))
    with pytest.raises(ValueError, match="bounds"):
        HMCConfig(bounds=(-2.0, math.inf))
    with pytest.raises(ValueError, match=r"bounds\[0\]"):
        MetropolisConfig(bounds=(math.nan, 2.0))


def test_the_chain_of_a_configuration_is_checked_once():
    # the public sampler checks its inputs; its core (what ebmlab.training calls at every
    # step) does not, and gives the same chain
    init = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    chain = LangevinConfig(steps=5, step_size=0.01, bounds=BOX)
    a = samplers.langevin(three_wells, init, chain, seed=1).samples
    b = samplers.langevin.__wrapped__(three_wells, init, chain, seed=1).samples
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert samplers.langevin.constraints["config"].cls is LangevinConfig
