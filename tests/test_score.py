"""Score matching, Tweedie's formula, annealed Langevin and DDPM (ebmlab.training.score,
.mixture, .diffusion, .metrics and ebmlab.samplers.annealed)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import samplers, training

MEANS = torch.tensor([[-2.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
W = torch.tensor([0.3, 0.7], dtype=torch.float64)


def blurred(std):
    def score(y, sigma):
        return training.mixture_score(y, MEANS, W, (std**2 + torch.as_tensor(sigma) ** 2) ** 0.5)

    return score


class LinearScore(torch.nn.Module):
    """s(y) = -a y, the score family of a centred isotropic Gaussian."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1))

    def forward(self, y, sigma):
        return -self.a * y


# --------------------------------------------------------------------------- the mixture


@settings(max_examples=25, deadline=None)
@given(std=st.floats(0.3, 3.0), seed=st.integers(0, 1000))
def test_mixture_score_is_the_gradient_of_the_log_density(std, seed):
    y = 4 * torch.randn(7, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y.requires_grad_(True)
    sq = ((y[:, None] - MEANS[None]) ** 2).sum(-1)
    logp = torch.logsumexp(W.log() - sq / (2 * std**2), dim=1)
    (grad,) = torch.autograd.grad(logp.sum(), y)
    assert torch.allclose(training.mixture_score(y.detach(), MEANS, W, std), grad, atol=1e-9)


def test_mixture_sample_has_the_weights_and_the_spread():
    y, k = training.mixture_sample(20_000, MEANS, W, 0.5, seed=0)
    assert y.shape == (20_000, 2) and k.dtype == torch.int64
    assert abs((k == 1).double().mean().item() - 0.7) < 0.015
    assert abs((y[k == 0] - MEANS[0]).std().item() - 0.5) < 0.02


@settings(max_examples=25, deadline=None)
@given(std=st.floats(0.2, 2.0), sigma=st.floats(0.05, 5.0), seed=st.integers(0, 1000))
def test_tweedie_gives_the_posterior_mean_of_a_gaussian_mixture(std, sigma, seed):
    y = 5 * torch.randn(9, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    tweedie = training.tweedie_denoise(blurred(std), y, sigma)
    bayes = training.mixture_posterior_mean(y, MEANS, W, std, sigma)
    assert torch.allclose(tweedie, bayes, atol=1e-8)


def test_tweedie_matches_a_monte_carlo_posterior_mean():
    # among many noisy copies, those landing near one point: their clean points' mean
    y, _ = training.mixture_sample(2_000_000, MEANS, W, 1.0, seed=1)
    noisy = y + 1.5 * torch.randn(y.shape, generator=torch.Generator().manual_seed(2)).double()
    at = torch.tensor([[2.5, 1.0]], dtype=torch.float64)
    near = (noisy - at).norm(dim=1) < 0.1
    mc = y[near].mean(0)
    assert near.sum() > 500
    assert torch.allclose(training.tweedie_denoise(blurred(1.0), at, 1.5)[0], mc, atol=0.05)


# --------------------------------------------------------------------------- the DSM loss


def test_the_minimiser_of_dsm_is_the_blurred_score_of_a_gaussian():
    # data N(0, v I): the score of p_sigma is -y / (v + sigma^2)
    v, sigma = 2.0, 0.7
    Y = math.sqrt(v) * torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    model = LinearScore()
    config = training.TrainConfig(steps=600, lr=0.01, batch_size=4000, seed=0)
    training.fit_dsm(model, Y, sigmas=(sigma,), config=config)
    assert model.a.item() == pytest.approx(1 / (v + sigma**2), rel=0.05)


def test_dsm_in_closed_form_for_a_linear_score():
    # the exact minimiser over a of the empirical loss, by least squares
    v, sigma = 1.5, 0.4
    g = torch.Generator().manual_seed(3)
    Y = math.sqrt(v) * torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(Y.shape, generator=g, dtype=torch.float64)
    noisy = Y + sigma * eps
    a = (noisy * eps).sum() / (sigma * (noisy**2).sum())
    assert a.item() == pytest.approx(1 / (v + sigma**2), rel=0.01)
    losses = [
        training.dsm_loss(lambda y, s, b=b: -b * y, Y, sigma, eps).item()
        for b in (a * 0.9, a, a * 1.1)
    ]
    assert losses[1] < losses[0] and losses[1] < losses[2]


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.05, 4.0), seed=st.integers(0, 1000))
def test_dsm_reductions_and_a_constant_sigma_per_point(sigma, seed):
    g = torch.Generator().manual_seed(seed)
    Y, eps = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    score = blurred(1.0)
    Yd, ed = Y.double(), eps.double()
    per = training.dsm_loss(score, Yd, sigma, ed, reduction="none")
    assert per.shape == (6,) and bool((per >= 0).all())
    assert torch.allclose(training.dsm_loss(score, Yd, sigma, ed), per.mean())
    assert torch.allclose(training.dsm_loss(score, Yd, sigma, ed, reduction="sum"), per.sum())
    column = torch.full((6,), sigma, dtype=torch.float64)
    assert torch.allclose(training.dsm_loss(score, Yd, column, ed, reduction="none"), per)


def test_dsm_is_half_the_squared_residual_by_hand():
    Y, eps = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, -1.0]])
    # score 0: the loss is |eps|^2 / 2 whatever sigma
    assert training.dsm_loss(lambda y, s: torch.zeros_like(y), Y, 3.0, eps).item() == 0.625


def test_noise_conditional_score_divides_by_sigma():
    torch.manual_seed(0)
    net = training.NoiseConditionalScore(2, 8, 1)
    y = torch.randn(4, 2)
    out = net(y, torch.full((4,), 2.0))
    assert out.shape == (4, 2)
    assert torch.allclose(out * 2.0, net.net(torch.cat([y, torch.full((4, 1), math.log(2.0))], 1)))
    assert torch.allclose(net(y, 2.0), out)


def test_geometric_sigmas():
    s = training.geometric_sigmas(10.0, 0.1, 5)
    assert len(s) == 5 and s[0] == pytest.approx(10.0) and s[-1] == pytest.approx(0.1)
    ratios = [b / a for a, b in zip(s, s[1:])]
    assert max(ratios) == pytest.approx(min(ratios))
    assert training.geometric_sigmas(2.0, 0.1, 1) == (2.0,)


# --------------------------------------------------------------------------- annealed Langevin


@settings(max_examples=20, deadline=None)
@given(step=st.floats(1e-3, 0.5), sigma=st.floats(0.1, 3.0), seed=st.integers(0, 1000))
def test_a_score_step_is_a_langevin_step_on_the_energy(step, sigma, seed):
    g = torch.Generator().manual_seed(seed)
    y, noise = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)

    def energy(u):
        return (u**2).sum(1) / (2 * sigma**2) + u[:, 0]

    def score(u, s):
        return -u / s**2 - torch.tensor([1.0, 0.0])

    a = samplers.annealed_langevin_step(score, y, noise, sigma, step)
    b = samplers.langevin_step(energy, y, noise, step)
    assert torch.allclose(a, b, atol=1e-5)


def test_one_level_of_annealed_langevin_is_the_step_repeated():
    score = blurred(1.0)
    y0 = torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    config = samplers.AnnealedLangevinConfig(sigmas=(0.5,), steps=3, step_size=0.01)
    out = samplers.annealed_langevin(score, y0, config, seed=7, record=True)
    g = torch.Generator().manual_seed(7)
    y = y0
    for _ in range(3):
        noise = torch.randn(y.shape, generator=g, dtype=y.dtype)
        y = samplers.annealed_langevin_step(score, y, noise, 0.5, 0.01)
    assert torch.allclose(out.samples, y) and out.path.shape == (2, 4, 2)


def test_annealed_langevin_recovers_the_weights_and_plain_langevin_does_not():
    means = torch.tensor([[-5.0, -5.0], [5.0, 5.0]])
    w = torch.tensor([0.2, 0.8])

    def score(y, s):
        return training.mixture_score(y, means, w, (1 + s**2) ** 0.5)

    init = -8 + 16 * torch.rand(2000, 2, generator=torch.Generator().manual_seed(0))
    plain = samplers.AnnealedLangevinConfig(sigmas=(0.1,), steps=200, step_size=0.05)
    ladder = training.geometric_sigmas(10.0, 0.1, 10)
    annealed = samplers.AnnealedLangevinConfig(sigmas=ladder, steps=100, step_size=1e-3)
    share = {}
    for name, config in (("plain", plain), ("annealed", annealed)):
        y = samplers.annealed_langevin(score, init, config, seed=1).samples
        share[name] = ((y - means[0]).norm(dim=1) < (y - means[1]).norm(dim=1)).float().mean()
    assert abs(share["annealed"] - 0.2) < 0.04
    assert abs(share["plain"] - 0.5) < 0.05


def test_the_step_of_each_level_scales_with_its_variance():
    c = samplers.AnnealedLangevinConfig(sigmas=(4.0, 2.0, 1.0), steps=1, step_size=0.01)
    assert c.step_sizes() == pytest.approx((0.16, 0.04, 0.01))


# --------------------------------------------------------------------------- DDPM


def test_ddpm_loss_is_twice_dsm_on_the_shrunk_data():
    sch = training.ddpm_schedule(50, 1e-3, 0.2)
    g = torch.Generator().manual_seed(0)
    Y, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    t = torch.randint(0, 50, (8,), generator=g)
    score = blurred(0.5)
    a, s = sch.alpha_bars[t].sqrt()[:, None], sch.sigmas[t]
    dsm = training.dsm_loss(score, a * Y, s, eps, reduction="none")
    assert torch.allclose(training.ddpm_loss(score, Y, t, eps, sch, reduction="none"), 2 * dsm)
    # the noise-prediction form, written out
    eps_hat = -s[:, None] * score(a * Y + s[:, None] * eps, s)
    assert torch.allclose(
        training.ddpm_loss(score, Y, t, eps, sch), ((eps - eps_hat) ** 2).sum(1).mean()
    )


def test_ddpm_schedule():
    sch = training.ddpm_schedule(10, 0.01, 0.1)
    assert sch.betas.shape == sch.alpha_bars.shape == sch.sigmas.shape == (10,)
    assert torch.allclose(sch.alpha_bars, torch.cumprod(1 - sch.betas, 0))
    assert torch.allclose(sch.sigmas**2 + sch.alpha_bars, torch.ones(10))


def test_ddpm_sampler_keeps_a_standard_normal_with_its_exact_score():
    # for y0 ~ N(0, I) every y_t is N(0, I): the score is -y at every level
    sch = training.ddpm_schedule(100, 1e-3, 0.1)
    init = torch.randn(20_000, 2, generator=torch.Generator().manual_seed(0))
    y = training.ddpm_sample(lambda u, s: -u, init, sch, seed=1, record=True)
    assert y.path.shape == (101, 20_000, 2)
    assert y.samples.std(0).sub(1).abs().max() < 0.03


def test_fit_ddpm_and_fit_dsm_return_a_history():
    torch.manual_seed(0)
    net = training.NoiseConditionalScore(2, 8, 1)
    Y = torch.randn(32, 2)
    config = training.TrainConfig(steps=3, batch_size=8)
    r = training.fit_ddpm(net, Y, schedule=training.ddpm_schedule(5), config=config)
    assert r.negatives is None and r.history.loss.shape == (3,)
    r = training.fit_dsm(net, Y, sigmas=(1.0, 0.5), config=config)
    assert r.history.loss.shape == (3,)


# --------------------------------------------------------------------------- metrics


def test_auroc_against_its_definition():
    assert training.auroc(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])) == 1.0
    assert training.auroc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 0.0
    assert training.auroc(torch.tensor([1.0, 1.0]), torch.tensor([1.0])) == 0.5
    sklearn = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, generator=g), torch.randn(40, generator=g) + 0.5
    labels = [0] * 50 + [1] * 40
    ref = sklearn.roc_auc_score(labels, torch.cat([a, b]).numpy())
    assert training.auroc(a, b) == pytest.approx(ref)


def test_mmd_is_zero_on_one_set_and_grows_with_a_shift():
    X = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    assert training.mmd(X, X) == pytest.approx(0.0, abs=1e-12)
    assert 0 < training.mmd(X, X + 0.5) < training.mmd(X, X + 2.0)


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_named():
    Y, eps = torch.zeros(3, 2), torch.zeros(3, 2)
    score = blurred(1.0)
    with pytest.raises(ValueError, match="sigma"):
        training.dsm_loss(score, Y, 0.0, eps)
    with pytest.raises(ValueError, match="sigma"):
        training.dsm_loss(score, Y, torch.tensor([1.0, -1.0, 1.0]), eps)
    with pytest.raises(ValueError, match="sigma"):
        training.dsm_loss(score, Y, torch.ones(2), eps)
    with pytest.raises(ValueError, match="noise"):
        training.dsm_loss(score, Y, 1.0, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="score"):
        training.dsm_loss(lambda y, s: y[:, :1], Y, 1.0, eps)
    with pytest.raises(ValueError, match="sigma"):
        training.tweedie_denoise(score, Y, -1.0)
    with pytest.raises(ValueError, match="sigma"):
        samplers.annealed_langevin_step(score, Y, eps, 0.0, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        samplers.annealed_langevin_step(score, Y, eps, 1.0, 0.0)
    with pytest.raises(ValueError, match="noise"):
        samplers.annealed_langevin_step(score, Y, torch.zeros(2, 2), 1.0, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        samplers.AnnealedLangevinConfig(sigmas=(1.0,), step_size=-1.0)
    with pytest.raises(ValueError, match="sigmas"):
        samplers.AnnealedLangevinConfig(sigmas=(1.0, 2.0))
    with pytest.raises(ValueError, match="sigmas"):
        samplers.AnnealedLangevinConfig(sigmas=())
    with pytest.raises(ValueError, match=r"sigmas\[0\]"):
        samplers.AnnealedLangevinConfig(sigmas=(0.0,))
    with pytest.raises(TypeError, match="sigmas"):
        samplers.AnnealedLangevinConfig(sigmas=1.0)
    with pytest.raises(ValueError, match="smallest"):
        training.geometric_sigmas(1.0, 2.0, 3)
    with pytest.raises(ValueError, match="std"):
        training.mixture_score(Y, MEANS, W, 0.0)
    with pytest.raises(ValueError, match="weights"):
        training.mixture_sample(3, MEANS, torch.ones(3), 1.0)
    with pytest.raises(ValueError, match="means"):
        training.mixture_score(torch.zeros(3, 3), MEANS, W, 1.0)
    with pytest.raises(ValueError, match="sigmas"):
        training.fit_dsm(LinearScore(), Y, sigmas=(1.0, -1.0))
    with pytest.raises(ValueError, match="y"):
        training.NoiseConditionalScore(2)(torch.zeros(3, 3), 1.0)
    sch = training.ddpm_schedule(5)
    with pytest.raises(ValueError, match="t"):
        training.ddpm_loss(score, Y, torch.tensor([0, 1, 5]), eps, sch)
    with pytest.raises(TypeError, match="schedule"):
        training.ddpm_loss(score, Y, torch.tensor([0, 1, 2]), eps, (1, 2, 3))
    with pytest.raises(ValueError, match="Y"):
        training.mmd(Y, torch.zeros(3, 3))
