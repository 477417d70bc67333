"""Training energies: the NLL and its gradient, DAE, CD/PCD, NCE, margins, MPF, ratio matching,
masked tokens, reductions, the training configuration, the chapter-4 exercise checks, and bad
inputs."""

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import ebmlab
from ebmlab import energy as en
from ebmlab import training as tr
from ebmlab.base import History
from ebmlab.exercises import ch04
from ebmlab.samplers import LangevinConfig
from ebmlab.training import TrainConfig


@pytest.fixture(autouse=True)
def one_thread():
    # Small training loops: one thread is faster and immune to a busy machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


BOX = (-1.4, 1.4)


def spiral_data():
    return ebmlab.spiral(1000, noise=0.03, seed=0), ebmlab.spiral(500, noise=0.03, seed=1)


def auc(energy, held_out, grid):
    """P(E(held-out data point) < E(uniform grid point)): 1 = data always lower, 0.5 = chance."""
    with torch.no_grad():
        return (energy(held_out)[:, None] < energy(grid)[None]).double().mean().item()


# --------------------------------------------------------------------------- NLL


def test_nll_loss_has_the_log_of_the_partition_function():
    # ERRATA 1: L = mean E(Y) + 1/beta * log sum exp(-beta E) * cell (the note forgot the log)
    e_data = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    e_grid = torch.linspace(0, 3, 40, dtype=torch.float64)
    beta, cell = 2.0, 0.05
    z = (torch.exp(-beta * e_grid) * cell).sum()
    want = e_data.mean() + torch.log(z) / beta
    torch.testing.assert_close(tr.nll_loss(e_data, e_grid, beta, cell), want)
    assert not torch.isclose(tr.nll_loss(e_data, e_grid, beta, cell), e_data.mean() + z / beta)


@given(st.floats(-50, 50), st.floats(0.1, 10.0))
def test_nll_loss_ignores_a_constant_shift_of_the_energy(c, beta):
    g = torch.Generator().manual_seed(0)
    ed = torch.rand(5, generator=g, dtype=torch.float64)
    eg = 3 * torch.rand(30, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        tr.nll_loss(ed + c, eg + c, beta, 0.1), tr.nll_loss(ed, eg, beta, 0.1)
    )


def test_nll_loss_is_stable_for_huge_energies():
    loss = tr.nll_loss(torch.tensor([1000.0]), torch.tensor([1000.0, 2000.0]), 10.0, 1.0)
    assert torch.isfinite(loss) and abs(loss.item()) < 1e-3


@pytest.mark.parametrize("beta", [0.3, 1.0, 4.0])
def test_nll_gradient_formula_equals_autograd(beta):
    torch.manual_seed(0)
    model = tr.MLPEnergy(2, 16, 2).double()
    data = torch.randn(20, 2, dtype=torch.float64) * 0.5
    _, _, grid = en.grid_2d(-2, 2, 24, dtype=torch.float64)
    cell = (4 / 24) ** 2
    params = list(model.parameters())
    loss = tr.nll_loss(model(data), model(grid), beta, cell)
    auto = torch.autograd.grad(loss, params)
    formula = tr.nll_gradient(model, params, data, grid, beta)
    for a, f in zip(auto, formula):
        torch.testing.assert_close(f, a, rtol=1e-9, atol=1e-12)


class Gaussian(nn.Module):
    """E(y) = ||y - mu||^2 / (2 s^2): maximum likelihood must find the data's mean and spread."""

    def __init__(self):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(2))
        self.log_s = nn.Parameter(torch.zeros(()))

    def forward(self, y):
        return ((y - self.mu) ** 2).sum(1) / (2 * torch.exp(2 * self.log_s))


def test_maximum_likelihood_on_the_grid_recovers_a_gaussian():
    g = torch.Generator().manual_seed(0)
    data = torch.tensor([0.3, -0.2]) + 0.4 * torch.randn(2000, 2, generator=g)
    model = Gaussian()
    config = TrainConfig(steps=400, lr=0.05, batch_size=2000)
    res = tr.fit_ml_grid(model, data, low=-3, high=3, n=64, config=config)
    torch.testing.assert_close(model.mu.detach(), data.mean(0), atol=0.01, rtol=0)
    s_ml = data.sub(data.mean(0)).pow(2).mean().sqrt()  # the ML estimate of the spread
    assert abs(torch.exp(model.log_s).item() - s_ml.item()) < 0.01
    assert res.history.loss[-1] < res.history.loss[0]


# --------------------------------------------------------------------------- denoising autoencoder


def test_dae_energy_grows_with_distance_from_the_manifold_on_held_out_points():
    Y, _ = spiral_data()
    torch.manual_seed(0)
    dae = tr.DenoisingAutoencoder()
    tr.fit_dae(dae, Y, noise_std=0.1, config=TrainConfig(steps=1500, seed=0))
    # held-out: the noiseless spiral (not a training point), pushed off along its normal
    t = torch.linspace(0.3, 1.0, 300)
    a = 2 * math.pi * 1.5 * t
    on = torch.stack([t * torch.cos(a), t * torch.sin(a)], 1)
    tangent = torch.stack(
        [
            torch.cos(a) - t * 3 * math.pi * torch.sin(a),
            torch.sin(a) + t * 3 * math.pi * torch.cos(a),
        ],
        1,
    )
    normal = torch.stack([tangent[:, 1], -tangent[:, 0]], 1) / tangent.norm(dim=1, keepdim=True)
    with torch.no_grad():
        e = [
            0.5 * (dae.energy(on + d * normal) + dae.energy(on - d * normal)).mean().item()
            for d in (0.0, 0.1, 0.2)
        ]
    # measured 0.0011, 0.0090, 0.025: ratios 8 and 2.8; asserted with margins
    assert e[1] > 3 * e[0]
    assert e[2] > 1.5 * e[1]


def test_dae_loss_is_the_mean_squared_reconstruction_of_corrupted_points():
    y = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    ident = nn.Identity()
    # identity reconstructs the corrupted point: loss = mean ||sigma eps||^2
    eps = torch.randn(10, 2, generator=ebmlab.generator(5))
    torch.testing.assert_close(tr.dae_loss(ident, y, 0.3, seed=5), (0.09 * eps**2).sum(1).mean())
    per_point = tr.dae_loss(ident, y, 0.3, seed=5, reduction="none")
    torch.testing.assert_close(per_point, (0.09 * eps**2).sum(1))
    torch.testing.assert_close(tr.dae_loss(ident, y, 0.3, seed=5, reduction="sum"), per_point.sum())


def test_reductions_are_the_mean_the_sum_and_the_per_example_losses():
    g = torch.Generator().manual_seed(0)
    ed, eg = torch.rand(6, generator=g, dtype=torch.float64), torch.rand(20, generator=g).double()
    e_nbrs = torch.rand(6, 4, generator=g, dtype=torch.float64)
    calls = {
        "nll": lambda r: tr.nll_loss(ed, eg, 2.0, 0.1, reduction=r),
        "hinge": lambda r: tr.hinge_loss(ed, ed.flip(0), 0.5, reduction=r),
        "mpf": lambda r: tr.mpf_loss(ed, e_nbrs, 1.5, reduction=r),
        "ratio": lambda r: tr.ratio_matching_loss(ed, e_nbrs, reduction=r),
    }
    for name, loss in calls.items():
        each = loss("none")
        assert each.shape == (6,), name
        torch.testing.assert_close(loss("mean"), each.mean(), msg=name)
        torch.testing.assert_close(loss("sum"), each.sum(), msg=name)
    # the per-point NLL is E(y_i) minus the free energy of the grid
    torch.testing.assert_close(calls["nll"]("none"), ed - en.free_energy(eg, 2.0, dz=0.1))
    logits, targets = torch.randn(2, 3, 4, generator=g), torch.randint(0, 4, (2, 3), generator=g)
    mask = torch.tensor([[True, False, True], [False, True, False]])
    each = tr.masked_token_loss(logits, targets, mask, reduction="none")
    assert each.shape == (3,)
    torch.testing.assert_close(tr.masked_token_loss(logits, targets, mask), each.mean())
    for bad in ("avg", None):
        with pytest.raises((TypeError, ValueError), match="reduction"):
            tr.nll_loss(ed, eg, reduction=bad)


# --------------------------------------------------------------------------- contrastive losses


def test_cd_and_hinge_losses():
    ep, en_ = torch.tensor([0.0, 1.0]), torch.tensor([2.0, 4.0, 6.0])
    torch.testing.assert_close(tr.cd_loss(ep, en_), torch.tensor(0.5 - 4.0))
    torch.testing.assert_close(
        tr.cd_loss(ep, en_, alpha=0.1), torch.tensor(0.5 - 4.0 + 0.1 * (0.5 + 56 / 3))
    )
    # separated by more than the margin: no loss; violated: the violation
    assert tr.hinge_loss(torch.tensor([0.0]), torch.tensor([2.0]), 1.0).item() == 0.0
    torch.testing.assert_close(
        tr.hinge_loss(torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.0]), 1.0), torch.tensor(1.25)
    )


def test_nce_loss_is_logistic_regression_with_the_noise_log_odds():
    g = torch.Generator().manual_seed(0)
    ed, en_ = torch.randn(4, generator=g), torch.randn(12, generator=g)
    lq = -1.7
    nu = 3.0
    gd, gn = -ed - lq - math.log(nu), -en_ - lq - math.log(nu)
    bce = nn.functional.binary_cross_entropy_with_logits
    want = bce(gd, torch.ones(4)) + nu * bce(gn, torch.zeros(12))
    torch.testing.assert_close(tr.nce_loss(ed, en_, lq, lq), want)


def _bm_energy(x, W, b):
    return -0.5 * ((x @ W) * x).sum(-1) - x @ b


def _expected(loss_of, W, b, states, p):
    """Expected per-state loss under the true distribution p (exact: every state enumerated)."""
    return (p * loss_of(W, b, states)).sum()


@pytest.mark.parametrize("which", ["ratio_matching", "mpf"])
def test_ratio_matching_and_mpf_are_stationary_at_the_true_model(which):
    # A 5-bit Boltzmann machine; both objectives, in expectation over the true distribution,
    # have zero gradient at the true parameters (consistency) and not at perturbed ones.
    D = 5
    g = torch.Generator().manual_seed(0)
    A = torch.randn(D, D, generator=g, dtype=torch.float64)
    W0 = 0.5 * (A + A.T) * (1 - torch.eye(D, dtype=torch.float64))
    b0 = torch.randn(D, generator=g, dtype=torch.float64)
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=D)), dtype=torch.float64)
    p = en.gibbs(_bm_energy(states, W0, b0), 1.0)
    flips = states[:, None, :].expand(-1, D, D).clone()
    idx = torch.arange(D)
    flips[:, idx, idx] = 1 - flips[:, idx, idx]

    def per_state(W, b, s):
        e = _bm_energy(s, W, b)
        e_f = _bm_energy(flips, W, b)
        if which == "ratio_matching":
            return torch.sigmoid(e[:, None] - e_f).pow(2).sum(1)
        return torch.exp(0.5 * (e[:, None] - e_f)).sum(1)

    # the package's losses agree with the per-state form on a "data set" weighted by p
    fn = tr.ratio_matching_loss if which == "ratio_matching" else tr.mpf_loss
    e, e_f = _bm_energy(states, W0, b0), _bm_energy(flips, W0, b0)
    torch.testing.assert_close(fn(e, e_f), per_state(W0, b0, states).mean())

    def grad_at(W, b):
        W = W.clone().requires_grad_(True)
        b = b.clone().requires_grad_(True)
        gW, gb = torch.autograd.grad(_expected(per_state, W, b, states, p), (W, b))
        return torch.cat([gW.flatten(), gb]).abs().max().item()

    assert grad_at(W0, b0) < 1e-10
    assert grad_at(W0, b0 + 0.3) > 1e-3


# --------------------------------------------------------------------------- training loops


def test_nce_learns_a_normalised_density():
    Y, Yt = spiral_data()
    torch.manual_seed(0)
    model = tr.MLPEnergy()
    tr.fit_nce(model, Y, low=BOX[0], high=BOX[1], config=TrainConfig(steps=400, seed=0))
    n = 64
    _, _, grid = en.grid_2d(*BOX, n)
    with torch.no_grad():
        z = (torch.exp(-model(grid)) * ((BOX[1] - BOX[0]) / n) ** 2).sum().item()
    assert abs(z - 1.0) < 0.1  # measured 1.008: NCE learns log Z in the energy's bias
    assert auc(model, Yt, grid) > 0.9  # measured 0.955


@pytest.mark.parametrize("method", ["ml", "cd", "pcd", "hinge", "mpf"])
def test_every_method_puts_held_out_data_below_most_of_the_box(method):
    # measured AUCs after 400 steps: ml 0.966, cd 0.943, pcd 0.937, hinge 0.940, mpf 0.953
    Y, Yt = spiral_data()
    _, _, grid = en.grid_2d(*BOX, 48)
    torch.manual_seed(0)
    model = tr.MLPEnergy()
    before = auc(model, Yt, grid)
    config = TrainConfig(steps=400)
    if method == "ml":
        res = tr.fit_ml_grid(model, Y, low=BOX[0], high=BOX[1], n=64, config=config)
    elif method in ("cd", "pcd"):
        chain = LangevinConfig(steps=10, step_size=0.005, bounds=BOX)
        res = tr.fit_cd(model, Y, sampler=chain, persistent=method == "pcd", config=config)
        assert res.negatives.shape == (256, 2)
        assert bool((res.negatives.abs() <= BOX[1]).all())
    elif method == "hinge":
        res = tr.fit_hinge(model, Y, config=config)
    else:
        res = tr.fit_mpf(model, Y, h=0.05, config=config)
    assert isinstance(res.history, History) and res.history.per == "step"
    loss = res.history.loss
    assert loss.shape == (400,) and loss.dtype == torch.float64 and bool(torch.isfinite(loss).all())
    after = auc(model, Yt, grid)
    assert after > 0.9
    assert after > before + 0.2


def test_fits_are_reproducible_with_a_seed():
    Y, _ = spiral_data()
    out = []
    for _ in range(2):
        torch.manual_seed(1)
        m = tr.MLPEnergy(2, 8, 1)
        chain = LangevinConfig(steps=3, bounds=BOX)
        res = tr.fit_cd(m, Y, sampler=chain, persistent=True, config=TrainConfig(steps=5, seed=4))
        out.append((res.history.loss, res.negatives))
    torch.testing.assert_close(out[0], out[1])


def test_the_loop_draws_the_minibatches_of_torch_randint():
    # one batch per step, torch.randint(0, n, (batch_size,)) from the config's seed; all the
    # data when batch_size >= n. A model that records what it is trained on shows it.
    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2))
            self.seen = []

        def forward(self, y):
            self.seen.append(y.detach().clone())
            return y @ self.w

    Y = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    m = Recorder()
    tr.fit_hinge(m, Y, config=TrainConfig(steps=3, batch_size=8, seed=11))
    g = ebmlab.generator(11)
    for t in range(3):
        idx = torch.randint(0, 50, (8,), generator=g)
        torch.randn(8, 2, generator=g)  # the step's kicks come from the same generator
        torch.testing.assert_close(m.seen[2 * t], Y[idx], rtol=0, atol=0)
    m = Recorder()
    tr.fit_hinge(m, Y, config=TrainConfig(steps=2, batch_size=50))
    torch.testing.assert_close(m.seen[0], Y, rtol=0, atol=0)


def test_train_config_checks_its_fields_and_is_frozen():
    for kw, exc in [
        (dict(steps=0), ValueError),
        (dict(steps=2.5), TypeError),
        (dict(lr=0.0), ValueError),
        (dict(lr="0.1"), TypeError),
        (dict(batch_size=0), ValueError),
        (dict(seed=-1), ValueError),
    ]:
        with pytest.raises(exc, match=next(iter(kw))):
            TrainConfig(**kw)
    config = TrainConfig(lr=1)
    assert config.lr == 1.0 and isinstance(config.lr, float)
    with pytest.raises(AttributeError):
        config.steps = 2
    with pytest.raises(TypeError):
        TrainConfig(100)  # the settings are named


# --------------------------------------------------------------------------- masked tokens


def test_mask_tokens_masks_at_least_one_position_and_only_with_the_mask_id():
    tokens = torch.randint(0, 10, (200, 8), generator=torch.Generator().manual_seed(0))
    corrupted, mask = tr.mask_tokens(tokens, 0.15, 10, seed=0)
    assert bool(mask.any(dim=1).all())
    assert bool((corrupted[mask] == 10).all()) and torch.equal(corrupted[~mask], tokens[~mask])
    assert 0.1 < mask.float().mean().item() < 0.35  # 0.15 plus the forced position (1/8)


def test_masked_token_loss_is_cross_entropy_on_the_masked_positions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 5, generator=g)
    targets = torch.randint(0, 5, (3, 4), generator=g)
    mask = torch.tensor([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=torch.bool)
    nll = -torch.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]
    torch.testing.assert_close(tr.masked_token_loss(logits, targets, mask), nll[mask].mean())


# --------------------------------------------------------------------------- exercises


@pytest.mark.parametrize("name", list(ch04.EXERCISES))
def test_reference_solutions_pass_and_stubs_report_todo(name):
    ex = ch04.EXERCISES[name]
    assert ex.check(ex.reference, quiet=True)

    def stub(*args):
        raise NotImplementedError

    res = ex.check(stub, quiet=True)
    assert res.status == "todo" and "not implemented" in res.message


def test_wrong_answers_fail_with_hints():
    def nll_without_log(ed, eg, beta, cell):  # ERRATA 1's formula
        return ed.mean() + (torch.exp(-beta * eg) * cell).sum() / beta

    res = ch04.check_nll(nll_without_log, quiet=True)
    assert res.status == "fail" and "Hint" in res.message

    def step_without_noise(energy, y, noise, step_size, noise_scale):
        y = y.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(energy(y).sum(), y)
        return (y - step_size * g).detach()

    assert ch04.check_langevin_step(step_without_noise, quiet=True).status == "fail"

    def grad_without_model_term(phi_data, phi_grid, w, beta):
        return phi_data.mean(0)

    assert ch04.check_nll_gradient(grad_without_model_term, quiet=True).status == "fail"

    def cd_wrong_sign(w, features, y, noise, step_size, lr):
        return w + lr * features(y).mean(0)

    assert ch04.check_cd1_update(cd_wrong_sign, quiet=True).status == "fail"


def test_nll_gradient_reference_equals_autograd_of_the_loss():
    g = torch.Generator().manual_seed(0)
    phi_d = torch.randn(7, 4, generator=g, dtype=torch.float64)
    phi_g = torch.randn(30, 4, generator=g, dtype=torch.float64)
    w = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    loss = tr.nll_loss(phi_d @ w, phi_g @ w, 2.0, 0.1)
    (auto,) = torch.autograd.grad(loss, w)
    torch.testing.assert_close(
        ch04.EXERCISES["nll_gradient"].reference(phi_d, phi_g, w.detach(), 2.0), auto
    )


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_name_the_argument():
    e1, e2 = torch.zeros(3), torch.zeros(5)
    with pytest.raises(ValueError, match="beta"):
        tr.nll_loss(e1, e2, beta=0.0)
    with pytest.raises(ValueError, match="cell"):
        tr.nll_loss(e1, e2, cell=-1.0)
    with pytest.raises(ValueError, match="energy_data"):
        tr.nll_loss(torch.tensor([math.nan]), e2)
    with pytest.raises(ValueError, match="energy_grid"):
        tr.nll_loss(e1, torch.zeros(2, 2))
    m = tr.MLPEnergy()
    with pytest.raises(TypeError, match="energy"):
        tr.nll_gradient(3, list(m.parameters()), torch.zeros(2, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="grid"):
        tr.nll_gradient(m, list(m.parameters()), torch.zeros(2, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="Y"):
        tr.nll_gradient(m, list(m.parameters()), torch.zeros(2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="params"):
        tr.nll_gradient(m, [], torch.zeros(2, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="y must have shape"):
        m(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="noise_std"):
        tr.dae_loss(nn.Identity(), torch.zeros(3, 2), 0.0)
    with pytest.raises(TypeError, match="model"):
        tr.dae_loss("x", torch.zeros(3, 2), 0.1)
    with pytest.raises(ValueError, match="alpha"):
        tr.cd_loss(e1, e2, alpha=-1.0)
    with pytest.raises(ValueError, match="energy_neg"):
        tr.hinge_loss(e1, e2)
    with pytest.raises(ValueError, match="margin"):
        tr.hinge_loss(e1, e1, margin=0.0)
    with pytest.raises(ValueError, match="log_q_noise"):
        tr.nce_loss(e1, e2, 0.0, torch.zeros(4))
    with pytest.raises(ValueError, match="energy_neighbours"):
        tr.mpf_loss(e1, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="energy_flipped"):
        tr.ratio_matching_loss(e1, torch.zeros(3))
    with pytest.raises(ValueError, match="mask_prob"):
        tr.mask_tokens(torch.zeros(2, 3, dtype=torch.long), 0.0, 5)
    with pytest.raises(ValueError, match="mask_id"):
        tr.mask_tokens(torch.zeros(2, 3, dtype=torch.long), 0.5, 0)
    with pytest.raises(TypeError, match="tokens"):
        tr.mask_tokens(torch.zeros(2, 3), 0.5, 5)
    with pytest.raises(ValueError, match="mask"):
        tr.masked_token_loss(
            torch.zeros(2, 3, 4),
            torch.zeros(2, 3, dtype=torch.long),
            torch.zeros(2, 3, dtype=torch.bool),
        )
    data = torch.zeros(10, 2)
    with pytest.raises(TypeError, match="model"):
        tr.fit_ml_grid(lambda y: y.sum(1), data, low=-1, high=1)
    with pytest.raises(ValueError, match="Y"):
        tr.fit_ml_grid(m, torch.zeros(10, 3), low=-1, high=1)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        tr.fit_dae(tr.DenoisingAutoencoder(), data, config=dict(steps=0))
    with pytest.raises(ValueError, match="high"):
        tr.fit_nce(m, data, low=1, high=-1)
    with pytest.raises(TypeError, match="nu"):
        tr.fit_nce(m, data, low=-1, high=1, nu="4")
    with pytest.raises(ValueError, match="bounds"):
        tr.fit_cd(m, data, persistent=True)
    with pytest.raises(ValueError, match=r"sampler\.steps"):
        tr.fit_cd(m, data, sampler=LangevinConfig(steps=0))
    with pytest.raises(TypeError, match="sampler must be a LangevinConfig"):
        tr.fit_cd(m, data, sampler=dict(steps=10))
    with pytest.raises(TypeError, match="persistent"):
        tr.fit_cd(m, data, persistent=1)
    with pytest.raises(ValueError, match="n_particles"):
        tr.fit_cd(m, data, n_particles=0)
    with pytest.raises(ValueError, match="h"):
        tr.fit_mpf(m, data, h=-0.1)
    with pytest.raises(ValueError, match="Y"):
        tr.fit_hinge(m, torch.full((4, 2), math.nan))
    with pytest.raises(ValueError, match="dim"):
        tr.MLPEnergy(dim=0)


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: tr.MLPEnergy(hidden=0), "hidden"),
        (lambda: tr.MLPEnergy(depth=0), "depth"),
        (lambda: tr.MLPEnergy(dim=2.0), "dim"),
        (lambda: tr.DenoisingAutoencoder(dim=0), "dim"),
        (lambda: tr.DenoisingAutoencoder(hidden=-1), "hidden"),
        (lambda: tr.DenoisingAutoencoder(code=0), "code"),
        (lambda: tr.DenoisingAutoencoder(code="16"), "code"),
    ],
)
def test_module_constructors_name_bad_hyper_parameters(make, arg):
    with pytest.raises((ValueError, TypeError), match=rf"^{arg} must"):
        make()


def test_fit_cd_checks_its_sampler_and_other_arguments_before_training():
    m, data = tr.MLPEnergy(2, 4, 1), torch.rand(8, 2)
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(ValueError, match="bounds"):
        tr.fit_cd(m, data, sampler=LangevinConfig(bounds=None), persistent=True)
    with pytest.raises(ValueError, match="alpha"):
        tr.fit_cd(m, data, alpha=-0.1)
    with pytest.raises(TypeError, match="config"):
        tr.fit_cd(m, data, config=LangevinConfig())
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_nll_gradient_wants_a_sequence_of_parameters():
    m = tr.MLPEnergy(2, 4, 1)
    data, grid = torch.rand(3, 2), torch.rand(5, 2)
    for bad in ("weights", next(m.parameters()), 3):
        with pytest.raises(TypeError, match="params"):
            tr.nll_gradient(m, bad, data, grid)
