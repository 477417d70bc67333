"""Tests of ebmlab.vae (regularised latent variables, the VAE) and of the chapter 7 checks."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ebmlab
from ebmlab import vae
from ebmlab.base import History
from ebmlab.exercises import ch07, registry

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _orthonormal(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return Q[:, :d]


def _direct_energy(y, W, z, lam, penalty):
    R = z.abs().sum(-1) if penalty == "l1" else z.pow(2).sum(-1)
    return (y - z @ W.T).pow(2).sum(-1) + lam * R


# ------------------------------------------------------------------ regularized_energy


def test_unregularised_complete_code_gives_zero_energy_everywhere():
    W = _orthonormal(6, 6, 0)
    y = torch.randn(50, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 5
    z, F, path = vae.regularized_energy(y, W, 0.0, "l1")
    assert path is None
    assert torch.allclose(F, torch.zeros(50, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(z @ W.T, y, atol=1e-10)


def test_l2_energy_depends_on_the_norm_only():
    W = _orthonormal(5, 5, 3)
    y = torch.randn(20, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lam = 0.7
    F = vae.regularized_energy(y, W, lam, "l2").value
    assert torch.allclose(F, lam / (1 + lam) * y.pow(2).sum(-1))
    F_perm = vae.regularized_energy(y[:, torch.randperm(5)], W, lam, "l2").value
    assert torch.allclose(F, F_perm)


def test_truncated_basis_energy_is_the_projection_residual():
    W = _orthonormal(7, 3, 4)
    y = torch.randn(10, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    F = vae.regularized_energy(y, W, 0.0, "l2").value
    assert torch.allclose(F, (y - y @ W @ W.T).pow(2).sum(-1))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    frac=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 3.0),
    penalty=st.sampled_from(["l1", "l2"]),
    seed=st.integers(0, 10_000),
)
def test_regularized_energy_is_the_minimum(n, frac, lam, penalty, seed):
    d = max(1, round(frac * n))
    W = _orthonormal(n, d, seed)
    g = torch.Generator().manual_seed(seed + 1)
    y = torch.randn(4, n, dtype=torch.float64, generator=g) * 2
    z, F, _ = vae.regularized_energy(y, W, lam, penalty)
    assert torch.allclose(F, _direct_energy(y, W, z, lam, penalty), atol=1e-9)
    for _ in range(20):  # no perturbation of the minimiser does better
        other = z + 0.3 * torch.randn(z.shape, dtype=torch.float64, generator=g)
        assert bool((_direct_energy(y, W, other, lam, penalty) >= F - 1e-9).all())


def test_regularized_energy_bad_input():
    W = _orthonormal(4, 4, 0)
    y = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="lam"):
        vae.regularized_energy(y, W, -1.0)
    with pytest.raises(ValueError, match="penalty"):
        vae.regularized_energy(y, W, 1.0, "l0")
    with pytest.raises(ValueError, match="orthonormal"):
        vae.regularized_energy(y, 2 * W, 1.0)
    with pytest.raises(ValueError, match="Y must have 4 features"):
        vae.regularized_energy(torch.zeros(3, 5), W, 1.0)
    with pytest.raises(ValueError, match="W must have at most"):
        vae.regularized_energy(torch.zeros(3, 2), torch.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match="Y"):
        vae.regularized_energy(torch.tensor([[float("nan")] * 4]), W, 1.0)
    with pytest.raises(TypeError, match="penalty"):
        vae.regularized_energy(y, W, 1.0, 1)


def test_the_l1_minimiser_is_the_soft_threshold_of_the_coefficients():
    W = _orthonormal(6, 4, 8)
    y = torch.randn(30, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    c = y @ W
    for lam in (0.0, 0.5, 2.0):
        z = vae.regularized_energy(y, W, lam, "l1").argmin
        assert torch.equal(z, torch.sign(c) * (c.abs() - lam / 2).clamp_min(0.0))
        assert torch.equal(z, ebmlab.optim.shrink(c, lam / 2))


# ------------------------------------------------------------------ reparameterize


def test_reparameterize_formula_and_gradients():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    logvar = torch.tensor([0.0, 2.0], requires_grad=True)
    eps = torch.tensor([1.0, -0.5])
    z = vae.reparameterize(mu, logvar, eps)
    assert torch.allclose(z, torch.tensor([1.5, -1.0 - 0.5 * math.e]))
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2))
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_reparameterize_has_the_right_distribution():
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    mu = torch.tensor([1.0, -2.0], dtype=torch.float64).expand_as(eps)
    logvar = torch.tensor([math.log(4.0), math.log(0.25)], dtype=torch.float64).expand_as(eps)
    z = vae.reparameterize(mu, logvar, eps)
    assert torch.allclose(z.mean(0), mu[0], atol=0.02)
    assert torch.allclose(z.var(0), torch.tensor([4.0, 0.25], dtype=torch.float64), rtol=0.02)


def test_reparameterize_bad_input():
    with pytest.raises(ValueError, match="eps"):
        vae.reparameterize(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="logvar"):
        vae.reparameterize(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="mu"):
        vae.reparameterize(torch.tensor([float("inf")]), torch.zeros(1), torch.zeros(1))
    with pytest.raises(TypeError, match="eps"):
        vae.reparameterize(torch.zeros(1), torch.zeros(1), "noise")


# ------------------------------------------------------------------ KL divergences


def test_kl_normal_zero_at_the_prior_and_positive_elsewhere():
    # ERRATA 7: the KL penalises the mean's norm AND the variance's distance from 1.
    assert vae.kl_normal(torch.zeros(3), torch.zeros(3)).item() == 0.0
    assert vae.kl_normal(torch.tensor([0.1]), torch.zeros(1)).item() > 0
    assert vae.kl_normal(torch.zeros(1), torch.tensor([0.1])).item() > 0
    # the spring and the size terms of the docstring
    assert torch.allclose(vae.kl_normal(torch.tensor([3.0]), torch.zeros(1)), torch.tensor(4.5))
    s2 = torch.tensor([0.5])
    expected = 0.5 * (s2 - torch.log(s2) - 1)
    assert torch.allclose(vae.kl_normal(torch.zeros(1), torch.log(s2)), expected.sum())


def test_kl_normal_per_dim_and_agreement_with_torch():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    per = vae.kl_normal(mu, logvar, per_dim=True)
    assert per.shape == (5, 4)
    assert torch.allclose(per.sum(-1), vae.kl_normal(mu, logvar))
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(per, torch.distributions.kl_divergence(q, p), atol=1e-6)
    assert torch.allclose(
        vae.kl_normal(mu, logvar), vae.kl_gaussians(mu, logvar, torch.zeros(4), torch.zeros(4))
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_gaussians_closed_form_matches_monte_carlo(seed):
    g = torch.Generator().manual_seed(seed)
    mu1, lv1, mu2, lv2 = (torch.randn(3, generator=g, dtype=torch.float64) for _ in range(4))
    closed = vae.kl_gaussians(mu1, lv1, mu2, lv2)
    eps = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    z = mu1 + torch.exp(0.5 * lv1) * eps  # samples of q = N(mu1, exp(lv1))

    def log_density(z, mu, lv):  # written out here, independently of the package
        return (-0.5 * (math.log(2 * math.pi) + lv + (z - mu) ** 2 / torch.exp(lv))).sum(-1)

    terms = log_density(z, mu1, lv1) - log_density(z, mu2, lv2)
    se = terms.std() / math.sqrt(len(terms))
    assert abs(terms.mean() - closed).item() < 5 * se.item()
    q = torch.distributions.Normal(mu1, torch.exp(0.5 * lv1))
    p = torch.distributions.Normal(mu2, torch.exp(0.5 * lv2))
    assert torch.allclose(closed, torch.distributions.kl_divergence(q, p).sum())


def test_kl_normal_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(11)
    mu, lv = torch.tensor([1.0, -0.5], dtype=torch.float64), torch.tensor([-1.0, 0.7]).double()
    eps = torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    z = mu + torch.exp(0.5 * lv) * eps
    log_q = (-0.5 * (math.log(2 * math.pi) + lv + eps**2)).sum(-1)
    log_p = (-0.5 * (math.log(2 * math.pi) + z**2)).sum(-1)
    terms = log_q - log_p
    se = terms.std() / math.sqrt(len(terms))
    assert abs(terms.mean() - vae.kl_normal(mu, lv)).item() < 5 * se.item()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=4, max_size=4),
)
def test_kl_gaussians_is_nonnegative_and_zero_only_at_equality(v):
    mu1, lv1, mu2, lv2 = (torch.tensor([x], dtype=torch.float64) for x in v)
    kl = vae.kl_gaussians(mu1, lv1, mu2, lv2).item()
    assert kl >= -1e-12
    assert vae.kl_gaussians(mu1, lv1, mu1, lv1).item() == pytest.approx(0.0, abs=1e-12)
    if abs(v[0] - v[2]) > 1e-3 or abs(v[1] - v[3]) > 1e-3:
        assert kl > 0


def test_kl_is_not_symmetric():
    a = vae.kl_gaussians(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.tensor([2.0]))
    b = vae.kl_gaussians(torch.zeros(1), torch.tensor([2.0]), torch.zeros(1), torch.zeros(1))
    assert abs(a.item() - b.item()) > 0.1


def test_kl_bad_input():
    with pytest.raises(ValueError, match="logvar"):
        vae.kl_normal(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="mu"):
        vae.kl_normal(torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(ValueError, match="logvar2"):
        vae.kl_gaussians(torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="mu2"):
        vae.kl_gaussians(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(4), torch.zeros(4))


# ------------------------------------------------------------------ likelihoods and the loss


def test_bernoulli_nll_matches_torch_and_is_stable():
    g = torch.Generator().manual_seed(3)
    x, logits = torch.rand(4, 6, generator=g), torch.randn(4, 6, generator=g) * 3
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    assert torch.allclose(vae.bernoulli_nll(logits, x), ref.sum(-1), atol=1e-5)
    big = torch.tensor([[200.0, -200.0]])
    nll = vae.bernoulli_nll(big, torch.tensor([[1.0, 1.0]]))
    assert torch.isfinite(nll).all() and nll.item() == pytest.approx(200.0)


def test_bernoulli_nll_of_grey_pixels_is_the_expected_nll_of_binarised_ones():
    # Two pixels with grey levels a, b: average the NLL of the four binary images.
    logits = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    a, b = 0.25, 0.8
    expected = 0.0
    for b1 in (0.0, 1.0):
        for b2 in (0.0, 1.0):
            w = (a if b1 else 1 - a) * (b if b2 else 1 - b)
            expected += w * vae.bernoulli_nll(logits, torch.tensor([[b1, b2]]).double()).item()
    got = vae.bernoulli_nll(logits, torch.tensor([[a, b]], dtype=torch.float64)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_gaussian_nll_matches_torch():
    g = torch.Generator().manual_seed(4)
    x, mean = torch.rand(3, 5, generator=g), torch.rand(3, 5, generator=g)
    ref = -torch.distributions.Normal(mean, 0.2).log_prob(x).sum(-1)
    assert torch.allclose(vae.gaussian_nll(mean, x, 0.2), ref, atol=1e-5)


def test_likelihood_bad_input():
    with pytest.raises(ValueError, match="x must lie in"):
        vae.bernoulli_nll(torch.zeros(1, 2), torch.tensor([[0.5, 1.5]]))
    with pytest.raises(ValueError, match="x must have the shape"):
        vae.bernoulli_nll(torch.zeros(1, 2), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="sigma"):
        vae.gaussian_nll(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)


def test_vae_loss_parts():
    g = torch.Generator().manual_seed(5)
    x, logits = torch.rand(6, 8, generator=g), torch.randn(6, 8, generator=g)
    mu, logvar = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    out = vae.vae_loss(x, logits, mu, logvar, kl_weight=2.5)
    assert torch.allclose(out.recon, vae.bernoulli_nll(logits, x).mean())
    assert torch.allclose(out.kl, vae.kl_normal(mu, logvar).mean())
    assert torch.allclose(out.loss, out.recon + 2.5 * out.kl)
    zero = vae.vae_loss(x, logits, mu, logvar, kl_weight=0.0)
    assert torch.allclose(zero.loss, zero.recon)
    gauss = vae.vae_loss(x, logits, mu, logvar, likelihood="gaussian", sigma=0.5)
    assert torch.allclose(gauss.recon, vae.gaussian_nll(logits, x, 0.5).mean())


def test_vae_loss_bad_input():
    x, r, m = torch.rand(2, 3), torch.zeros(2, 3), torch.zeros(2, 2)
    with pytest.raises(ValueError, match="kl_weight"):
        vae.vae_loss(x, r, m, m, kl_weight=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        vae.vae_loss(x, r, m, m, reduction="batchmean")
    with pytest.raises(ValueError, match="likelihood"):
        vae.vae_loss(x, r, m, m, likelihood="poisson")
    with pytest.raises(ValueError, match="mu must have shape"):
        vae.vae_loss(x, r, torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="recon"):
        vae.vae_loss(x, torch.zeros(3), m, m)
    with pytest.raises(ValueError, match="x"):
        vae.vae_loss(torch.full((2, 3), float("nan")), r, m, m)


def test_the_losses_reduce_as_asked():
    g = torch.Generator().manual_seed(6)
    x, logits = torch.rand(5, 7, generator=g), torch.randn(5, 7, generator=g)
    mu, logvar = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    per = vae.bernoulli_nll(logits, x)  # the default: one value per image
    assert per.shape == (5,)
    assert torch.equal(vae.bernoulli_nll(logits, x, reduction="none"), per)
    assert torch.equal(vae.bernoulli_nll(logits, x, reduction="mean"), per.mean())
    assert torch.equal(vae.bernoulli_nll(logits, x, reduction="sum"), per.sum())
    g_per = vae.gaussian_nll(logits, x, 0.3)
    assert g_per.shape == (5,)
    assert torch.equal(vae.gaussian_nll(logits, x, 0.3, reduction="sum"), g_per.sum())
    rows = vae.vae_loss(x, logits, mu, logvar, kl_weight=0.5, reduction="none")
    assert rows.loss.shape == rows.recon.shape == rows.kl.shape == (5,)
    assert torch.allclose(rows.recon, per) and torch.allclose(rows.kl, vae.kl_normal(mu, logvar))
    assert torch.allclose(rows.loss, rows.recon + 0.5 * rows.kl)
    mean = vae.vae_loss(x, logits, mu, logvar, kl_weight=0.5)  # the default: batch means
    total = vae.vae_loss(x, logits, mu, logvar, kl_weight=0.5, reduction="sum")
    for m, t, r in zip(mean, total, rows):
        assert torch.allclose(m, r.mean()) and torch.allclose(t, r.sum())
    with pytest.raises(ValueError, match="reduction"):
        vae.bernoulli_nll(logits, x, reduction="avg")
    with pytest.raises(TypeError, match="reduction"):
        vae.gaussian_nll(logits, x, 0.3, reduction=None)


# ------------------------------------------------------------------ the module and training


def _toy_data(n=256, seed=0):
    """Binary-ish 16-pixel images from four prototypes, so a 2-D code helps a lot."""
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(4, 16, generator=g) > 0.5).float()
    k = torch.randint(0, 4, (n,), generator=g)
    flip = torch.rand(n, 16, generator=g) < 0.05
    return (protos[k] + flip.float()) % 2, k


@pytest.mark.parametrize("device", DEVICES)
def test_vae_shapes_and_device(device):
    model = vae.VAE(in_dim=16, latent_dim=3, hidden=8, seed=0).to(device)
    x = torch.rand(5, 16)
    out = model(x, eps=torch.zeros(5, 3))
    assert out.recon.shape == (5, 16) and out.mu.shape == (5, 3) and out.z.shape == (5, 3)
    assert out.recon.device.type == device
    assert torch.allclose(out.z, out.mu)  # eps = 0 decodes the centres
    assert model.sample(7).shape == (7, 16)
    imgs = model.mean_image(torch.zeros(2, 3))
    assert bool(((imgs >= 0) & (imgs <= 1)).all())
    loss = model.loss(x, kl_weight=1.0, eps=torch.zeros(5, 3))
    assert torch.allclose(loss.loss, loss.recon + loss.kl)


def test_vae_loss_method_reduces_and_matches_the_function():
    model = vae.VAE(in_dim=6, latent_dim=2, hidden=5, seed=1)
    x, eps = torch.rand(4, 6), torch.randn(4, 2)
    out = model(x, eps)
    rows = model.loss(x, kl_weight=3.0, eps=eps, reduction="none")
    ref = vae.vae_loss(x, out.recon, out.mu, out.logvar, 3.0, reduction="none")
    for a, b in zip(rows, ref):
        assert a.shape == (4,) and torch.equal(a, b)
    assert torch.allclose(model.loss(x, 3.0, eps).loss, ref.loss.mean())
    torch.manual_seed(5)
    drawn = model.loss(x, 3.0)  # eps drawn from torch's global stream
    torch.manual_seed(5)
    assert torch.equal(drawn.loss, model.loss(x, 3.0, torch.randn(4, 2)).loss)


def test_vae_seed_fixes_the_weights_and_leaves_the_global_stream_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = vae.VAE(16, 2, 8, seed=7)
    after = torch.rand(1)
    b = vae.VAE(16, 2, 8, seed=7)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_vae_bad_input():
    with pytest.raises(ValueError, match="latent_dim"):
        vae.VAE(16, latent_dim=0)
    with pytest.raises(ValueError, match="likelihood"):
        vae.VAE(16, likelihood="laplace")
    with pytest.raises(TypeError, match="likelihood"):
        vae.VAE(16, likelihood=None)
    with pytest.raises(TypeError, match="seed"):
        vae.VAE(16, seed=1.5)
    with pytest.raises(ValueError, match="sigma"):
        vae.VAE(16, likelihood="gaussian", sigma=-1.0)
    model = vae.VAE(16, 2, 8, seed=0)
    with pytest.raises(ValueError, match="z must have latent_dim = 2"):
        model.decode(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="x must have 16 features"):
        model.encode(torch.zeros(4, 15))
    with pytest.raises(ValueError, match="x"):
        model.encode(torch.full((2, 16), float("inf")))
    with pytest.raises(ValueError, match="eps"):
        model(torch.zeros(4, 16), eps=torch.zeros(4, 5))
    with pytest.raises(ValueError, match="n_samples"):
        model.negative_elbo(torch.zeros(4, 16), n_samples=0)
    with pytest.raises(ValueError, match="x must lie in"):
        model.negative_elbo(torch.full((4, 16), 2.0))
    with pytest.raises(ValueError, match="kl_weight"):
        model.loss(torch.zeros(4, 16), kl_weight=-1.0)
    with pytest.raises(ValueError, match="n"):
        model.sample(0)


def test_negative_elbo_is_seeded_and_bounds_the_nll_of_a_tiny_model():
    model = vae.VAE(in_dim=2, latent_dim=1, hidden=4, seed=0)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    a = model.negative_elbo(x, n_samples=8, seed=3)
    b = model.negative_elbo(x, n_samples=8, seed=3)
    assert torch.equal(a.loss, b.loss)
    assert torch.allclose(a.loss, a.recon + a.kl)
    # -log p(x) by brute-force integration over the 1-D latent; -ELBO (with many samples) is above
    u = torch.linspace(-8, 8, 4001)[:, None]
    with torch.no_grad():
        logits = model.decode(u)
    log_prior = -0.5 * (u[:, 0] ** 2 + math.log(2 * math.pi))
    du = (u[1] - u[0]).item()
    for i in range(2):
        log_lik = -vae.bernoulli_nll(logits, x[i].expand(len(u), 2))
        nll = -(torch.logsumexp(log_lik + log_prior, 0) + math.log(du))
        many = model.negative_elbo(x[i : i + 1], n_samples=4000, seed=0)
        assert many.loss.item() >= nll.item() - 0.02


@pytest.fixture
def one_thread():
    """Tiny networks train much faster on one CPU thread (no synchronisation to pay)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_fit_vae_learns_is_repeatable_and_kl_controls_the_balls(one_thread):
    X, _ = _toy_data()
    curves = {}
    sizes = {}
    for kl_weight in (0.0, 1.0, 50.0):
        model = vae.VAE(16, 2, 32, seed=0)
        h = vae.fit_vae(model, X, kl_weight=kl_weight, epochs=60, batch_size=64, lr=1e-2, seed=0)
        curves[kl_weight] = h
        with torch.no_grad():
            mu, logvar = model.encode(X)
        sizes[kl_weight] = (mu.norm(dim=1).mean().item(), torch.exp(0.5 * logvar).mean().item())
    h = curves[1.0]
    assert isinstance(h, History) and h.per == "epoch" and list(h) == ["loss", "recon", "kl"]
    assert h.loss.shape == (60,) and h.loss.dtype == torch.float64
    assert torch.allclose(h.loss, h.recon + h.kl)
    assert h.loss[-5:].mean() < 0.7 * h.loss[:5].mean()
    again = vae.fit_vae(vae.VAE(16, 2, 32, seed=0), X, 1.0, 60, 64, 1e-2, seed=0)
    assert torch.equal(again.loss, h.loss)
    # no spring: small balls far out; very strong spring: collapse onto the prior. The size of
    # the balls is learned (ERRATA 6: it CAN adapt, limited by the KL term).
    assert sizes[0.0][1] < 0.5 * sizes[1.0][1]
    assert sizes[0.0][0] > sizes[1.0][0]
    assert sizes[50.0][0] < 0.1 and abs(sizes[50.0][1] - 1.0) < 0.1
    assert curves[50.0].kl[-1] < 0.05


def _fit_by_hand(model, X, kl_weight, epochs, batch_size, lr, seed):
    """fit_vae's loop written out: one generator gives each epoch's order (none for full
    batches) and then each batch's noise; the curves are float64 means weighted by batch size."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    N = len(X)
    curves = []
    for _ in range(epochs):
        order = torch.randperm(N, generator=g) if batch_size < N else torch.arange(N)
        sums = torch.zeros(3, dtype=torch.float64)
        for start in range(0, N, batch_size):
            xb = X[order[start : start + batch_size]]
            eps = torch.randn(len(xb), model.latent_dim, generator=g)
            parts = model.loss(xb, kl_weight, eps)
            opt.zero_grad()
            parts.loss.backward()
            opt.step()
            sums += len(xb) * torch.stack([t.detach().double() for t in parts])
        curves.append(sums / N)
    model.eval()
    return torch.stack(curves)


@pytest.mark.parametrize("batch_size", [24, 100, None])
def test_fit_vae_is_the_loop_written_out(one_thread, batch_size):
    X, _ = _toy_data(n=100, seed=3)
    a, b = vae.VAE(16, 2, 8, seed=2), vae.VAE(16, 2, 8, seed=2)
    h = vae.fit_vae(a, X, kl_weight=0.5, epochs=4, batch_size=batch_size, lr=1e-2, seed=7)
    by_hand = _fit_by_hand(b, X, 0.5, 4, batch_size or len(X), 1e-2, 7)
    assert torch.equal(torch.stack([h.loss, h.recon, h.kl], 1), by_hand)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not a.training


def test_inputs_are_checked_once(monkeypatch):
    """The public methods check their tensors at the boundary and then call the cores."""
    from ebmlab.vae import losses, model

    calls = []

    def counting(value, name, **kw):
        calls.append(name)
        return ebmlab._validation.as_tensor(value, name, **kw)

    monkeypatch.setattr(model, "as_tensor", counting)
    monkeypatch.setattr(losses, "as_tensor", counting)
    X, _ = _toy_data(n=40)
    net = vae.VAE(16, 2, 8, seed=0)
    vae.fit_vae(net, X, epochs=3, batch_size=10)
    assert calls == ["X"]
    calls.clear()
    net.negative_elbo(X, n_samples=5)
    assert calls == ["x"]
    calls.clear()
    net.loss(X, eps=torch.zeros(40, 2))
    assert calls == ["x", "eps"]


def test_fit_vae_bad_input():
    model = vae.VAE(4, 2, 8, seed=0)
    X = torch.rand(10, 4)
    with pytest.raises(ValueError, match="kl_weight"):
        vae.fit_vae(model, X, kl_weight=-0.5)
    with pytest.raises(ValueError, match="X"):
        vae.fit_vae(model, torch.tensor([[0.1, float("nan"), 0.2, 0.3]]))
    with pytest.raises(ValueError, match="X must lie in"):
        vae.fit_vae(model, X + 1.0)
    with pytest.raises(ValueError, match="X must have 4 features"):
        vae.fit_vae(model, torch.rand(10, 5))
    with pytest.raises(ValueError, match="epochs"):
        vae.fit_vae(model, X, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        vae.fit_vae(model, X, batch_size=0)
    with pytest.raises(TypeError, match="model"):
        vae.fit_vae(torch.nn.Linear(4, 4), X)
    with pytest.raises(TypeError, match="seed"):
        vae.fit_vae(model, X, seed="0")
    with pytest.raises(ValueError, match="lr"):
        vae.fit_vae(model, X, lr=0.0)


def test_fit_vae_reports_divergence():
    model = vae.VAE(4, 2, 8, likelihood="gaussian", sigma=1e-3, seed=0)
    X = torch.rand(32, 4) * 1e30
    with pytest.raises(RuntimeError, match=r"diverged at epoch 0 \(loss .*\); lower lr"):
        vae.fit_vae(model, X, epochs=3, lr=10.0)


# ------------------------------------------------------------------ the exercises


def test_references_pass_and_chapter_is_registered():
    assert set(registry()["ch07"]) == {
        "reparameterize",
        "kl_normal",
        "negative_elbo",
        "rate_distortion",
    }
    for ex in ch07.EXERCISES.values():
        assert ex.check(ex.reference, quiet=True)


def test_stubs_are_reported_as_not_implemented():
    def stub(*args):
        raise NotImplementedError

    for ex in ch07.EXERCISES.values():
        result = ex.check(stub, quiet=True)
        assert result.status == "todo" and "not implemented" in result.message


def test_common_mistakes_fail():
    wrong_std = ch07.check_reparameterize(
        lambda mu, logvar, eps: mu + torch.exp(logvar) * eps, quiet=True
    )
    assert wrong_std.status == "fail" and "exp(logvar / 2)" in wrong_std.message
    no_sum = ch07.check_kl_normal(
        lambda mu, logvar: 0.5 * (mu**2 + torch.exp(logvar) - logvar - 1), quiet=True
    )
    assert no_sum.status == "fail"
    spring_only = ch07.check_kl_normal(lambda mu, logvar: 0.5 * (mu**2).sum(-1), quiet=True)
    assert spring_only.status == "fail"

    def naive(x, logits, mu, logvar, kl_weight):
        p = torch.sigmoid(logits)
        recon = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1)
        return (recon + kl_weight * vae.kl_normal(mu, logvar)).mean()

    unstable = ch07.check_negative_elbo(naive, quiet=True)
    assert unstable.status == "fail" and "softplus" in unstable.message

    def weight_on_both(x, logits, mu, logvar, kl_weight):
        return kl_weight * vae.vae_loss(x, logits, mu, logvar, 1.0).loss

    assert ch07.check_negative_elbo(weight_on_both, quiet=True).status == "fail"
