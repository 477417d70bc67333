"""Unit tests for ebmlab.latent (latent-variable EBMs, GLO) and the chapter 1 and 3 checks."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import ebmlab
from ebmlab import data, latent
from ebmlab.base import Estimator, History, NotFittedError
from ebmlab.energy import Minimum, grid_1d
from ebmlab.exercises import ch01, ch03, registry


# --- energies and inference ----------------------------------------------------------------
def test_squared_error_sums_over_last_dimension_and_broadcasts():
    y = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    assert torch.equal(latent.squared_error(y, torch.zeros(2)), torch.tensor([5.0, 0.0]))
    preds = torch.zeros(2, 3, 2)
    assert latent.squared_error(y[:, None, :], preds).shape == (2, 3)
    with pytest.raises(ValueError, match="y_hat"):
        latent.squared_error(y, torch.zeros(3))
    with pytest.raises(ValueError, match="y"):
        latent.squared_error(torch.tensor([float("nan")]), torch.zeros(1))


@given(st.integers(1, 5), st.integers(1, 7), st.integers(1, 4))
def test_latent_energies_match_the_broadcast_definition(B, N, d):
    g = torch.Generator().manual_seed(B * 100 + N * 10 + d)
    W = torch.randn(3, d, generator=g, dtype=torch.float64)
    y = torch.randn(B, d, generator=g, dtype=torch.float64)
    z = torch.randn(N, 3, generator=g, dtype=torch.float64)
    E = latent.latent_energies(y, lambda t: t @ W, z)
    direct = ((y[:, None, :] - (z @ W)[None]) ** 2).sum(-1)
    assert E.shape == (B, N) and torch.allclose(E, direct, atol=1e-10)
    assert bool((E >= 0).all())


def test_latent_energies_checks_the_decoder():
    y = torch.zeros(4, 2)
    with pytest.raises(TypeError, match="decoder"):
        latent.latent_energies(y, "not callable", torch.zeros(3))
    with pytest.raises(ValueError, match="decoder"):
        latent.latent_energies(y, lambda t: torch.zeros(3, 5), torch.zeros(3))
    with pytest.raises(ValueError, match="y"):
        latent.latent_energies(torch.zeros(4), lambda t: t, torch.zeros(3))


def test_nearest_latent_finds_the_closest_point_of_the_ellipse():
    def g(t):
        return latent.ellipse_decoder(t, 2.0, 1.0)

    z_grid, _ = grid_1d(0.0, 2 * math.pi, 64, dtype=torch.float64)
    y = torch.tensor([[2.2, 0.0], [0.0, -1.5], [1.0, 0.9]], dtype=torch.float64)
    coarse = latent.nearest_latent(y, g, z_grid)
    fine = latent.nearest_latent(y, g, z_grid, refine_steps=200, lr=0.02)
    assert isinstance(fine, Minimum)
    assert fine.argmin.shape == (3,) and fine.value.shape == (3,)
    assert bool((fine.value <= coarse.value + 1e-12).all())
    dense, _ = grid_1d(0.0, 2 * math.pi, 200_000, dtype=torch.float64)
    truth = latent.latent_energies(y, g, dense).min(dim=1).values
    assert torch.allclose(fine.value, truth, atol=1e-6)
    assert torch.allclose(fine.value, ((y - g(fine.argmin)) ** 2).sum(1))
    assert torch.allclose(fine.value[:2], torch.tensor([0.04, 0.25], dtype=torch.float64))


def test_nearest_latent_rejects_bad_arguments():
    def g(t):
        return latent.ellipse_decoder(t, 2.0, 1.0)

    with pytest.raises(ValueError, match="refine_steps"):
        latent.nearest_latent(torch.zeros(1, 2), g, torch.zeros(4), refine_steps=-1)
    with pytest.raises(ValueError, match="lr"):
        latent.nearest_latent(torch.zeros(1, 2), g, torch.zeros(4), lr=0.0)
    with pytest.raises(ValueError, match="z_grid"):
        latent.nearest_latent(torch.zeros(1, 2), g, torch.zeros(0))
    with pytest.raises(TypeError, match="refine_steps"):
        latent.nearest_latent(torch.zeros(1, 2), g, torch.zeros(4), refine_steps=True)


def test_infer_joint_reaches_zero_energy_on_the_manifold():
    # E(x, y, z) = ||y - (x cos z, x sin z)||^2: a circle of radius x
    def E(x, y, z):
        circle = x * torch.cat([torch.cos(z), torch.sin(z)], dim=1)
        return ((y - circle) ** 2).sum(1)

    x = torch.tensor([[1.0], [2.0]])
    g = torch.Generator().manual_seed(0)
    y0 = torch.randn(5, 2, 2, generator=g)
    z0 = torch.rand(5, 2, 1, generator=g) * 6
    res = latent.infer_joint(E, x, y0, z0, steps=400, lr=0.05)
    assert isinstance(res, latent.JointMinimum)
    assert res.y.shape == (5, 2, 2) and res.z.shape == (5, 2, 1) and res.value.shape == (5, 2)
    assert float(res.value.max()) < 1e-6
    radii = res.y.norm(dim=-1)
    assert torch.allclose(radii, x[:, 0].expand(5, 2), atol=1e-3)
    # different starts, different valid predictions
    assert float(res.y[:, 1].std(dim=0).sum()) > 0.1


def test_infer_joint_checks_shapes():
    def E(x, y, z):
        return (y**2).sum(1) + (z**2).sum(1)

    with pytest.raises(ValueError, match="y_starts"):
        latent.infer_joint(E, torch.zeros(2, 1), torch.zeros(3, 4, 2), torch.zeros(3, 4, 1))
    with pytest.raises(ValueError, match="z_starts"):
        latent.infer_joint(E, torch.zeros(2, 1), torch.zeros(3, 2, 2), torch.zeros(2, 2, 1))
    with pytest.raises(TypeError, match="E"):
        latent.infer_joint(None, torch.zeros(2, 1), torch.zeros(3, 2, 2), torch.zeros(3, 2, 1))


# --- the ellipse ---------------------------------------------------------------------------
def test_ellipse_decoder_matches_the_data_generator():
    y, z = ebmlab.ellipse(n=50, w1=2.0, w2=0.5, noise=0.0, seed=1)
    assert torch.allclose(latent.ellipse_decoder(z, 2.0, 0.5), y, atol=1e-6)


def test_ellipse_decoder_rotates_and_keeps_gradients():
    z = torch.tensor([0.0, math.pi / 2])
    out = latent.ellipse_decoder(z, 2.0, 1.0, angle=math.pi / 2)
    assert torch.allclose(out, torch.tensor([[0.0, 2.0], [-1.0, 0.0]]), atol=1e-6)
    w1 = torch.tensor(2.0, requires_grad=True)
    latent.ellipse_decoder(z, w1, 1.0).sum().backward()
    assert w1.grad is not None and abs(float(w1.grad) - 1.0) < 1e-6  # d/dw1 of cos 0 + cos pi/2
    with pytest.raises(ValueError, match="w1"):
        latent.ellipse_decoder(z, torch.ones(2), 1.0)
    with pytest.raises(TypeError, match="angle"):
        latent.ellipse_decoder(z, 1.0, 1.0, angle="up")


def test_ellipse_decoder_module_and_its_canonical_form():
    dec = latent.EllipseDecoder(w1=-1.0, w2=3.0, angle=0.2)
    assert {n for n, _ in dec.named_parameters()} == {"w1", "w2", "angle"}
    a, b, th = dec.canonical()
    assert (a, b) == (3.0, 1.0) and abs(th - (0.2 + math.pi / 2)) < 1e-6
    fixed = latent.EllipseDecoder(learn_angle=False)
    assert {n for n, _ in fixed.named_parameters()} == {"w1", "w2"}
    with pytest.raises(TypeError, match="learn_angle"):
        latent.EllipseDecoder(learn_angle=1)


def test_learning_the_ellipse_by_minimising_the_free_energy():
    theta = 0.5
    R = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    y = ebmlab.ellipse(n=200, w1=2.0, w2=1.0, noise=0.03, seed=2)[0] @ R.T
    dec = latent.EllipseDecoder(w1=1.0, w2=0.8)
    z, _ = grid_1d(0.0, 2 * math.pi, 256)
    hist = latent.fit_free_energy(
        lambda: latent.latent_energies(y, dec, z), dec.parameters(), steps=150, lr=0.04
    )
    assert isinstance(hist, History) and hist.per == "step" and list(hist) == ["loss"]
    assert hist.loss.shape == (150,) and float(hist.loss[-1]) < 0.01 < float(hist.loss[0])
    a, b, th = dec.canonical()
    assert abs(a - 2.0) < 0.03 and abs(b - 1.0) < 0.03 and abs(th - theta) < 0.03


def test_fit_free_energy_rejects_bad_arguments():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameters"):
        latent.fit_free_energy(lambda: p[None], [])
    with pytest.raises(ValueError, match="parameters"):
        latent.fit_free_energy(lambda: p[None], [torch.zeros(2)])
    with pytest.raises(ValueError, match="beta"):
        latent.fit_free_energy(lambda: p[None], [p], beta=0.0)
    with pytest.raises(ValueError, match="steps"):
        latent.fit_free_energy(lambda: p[None], [p], steps=0)
    with pytest.raises(ValueError, match="energies"):
        latent.fit_free_energy(lambda: p, [p], steps=1)
    with pytest.raises(TypeError, match="energies"):
        latent.fit_free_energy("table", [p], steps=1)


def test_fit_free_energy_records_the_loss_before_each_step():
    # one parameter, a table that is its square: F_inf = w^2, and Adam's first step moves w by lr
    w = torch.tensor(2.0, requires_grad=True)
    hist = latent.fit_free_energy(lambda: (w**2).reshape(1, 1), [w], steps=2, lr=0.5)
    assert torch.allclose(hist.loss, torch.tensor([4.0, 2.25], dtype=torch.float64))


# --- a discrete latent ---------------------------------------------------------------------
def test_multi_hypothesis_shapes_and_energies():
    m = latent.MultiHypothesis(in_dim=3, out_dim=2, k=4, hidden=8, seed=0)
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    pred = m(x)
    assert pred.shape == (5, 4, 2)
    E = m.energies(x, y)
    assert torch.allclose(E, ((y[:, None] - pred) ** 2).sum(-1))
    same = latent.MultiHypothesis(in_dim=3, out_dim=2, k=4, hidden=8, seed=0)
    assert torch.equal(same(x), pred)  # seeded weights
    sig = latent.MultiHypothesis(3, 2, out_activation="sigmoid")
    assert bool(((sig(x) > 0) & (sig(x) < 1)).all())


def test_multi_hypothesis_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k"):
        latent.MultiHypothesis(1, 1, k=0)
    with pytest.raises(ValueError, match="out_activation"):
        latent.MultiHypothesis(1, 1, out_activation="relu")
    m = latent.MultiHypothesis(2, 1)
    with pytest.raises(ValueError, match="x"):
        m(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="y"):
        m.energies(torch.zeros(3, 2), torch.zeros(3, 2))


def test_multi_hypothesis_recovers_both_branches_where_least_squares_averages():
    x, y, _ = data.forking_paths(n=300, noise=0.03, seed=0)
    m = latent.MultiHypothesis(1, 1, k=2, hidden=32, seed=0)
    latent.fit_free_energy(lambda: m.energies(x, y), m.parameters(), beta=1.0, steps=60, lr=1e-2)
    latent.fit_free_energy(lambda: m.energies(x, y), m.parameters(), steps=240, lr=1e-2)
    with torch.no_grad():
        pred = m(torch.tensor([[0.8]]))[0, :, 0].sort().values
    assert torch.allclose(pred, torch.tensor([-0.96, 0.96]), atol=0.1)
    # the least-squares answer, the conditional mean, is near 0: on neither branch
    near = (x[:, 0] > 0.7) & (x[:, 0] < 0.9)
    assert abs(float(y[near].mean())) < 0.3


# --- GLO -----------------------------------------------------------------------------------
def test_project_sphere_and_slerp():
    z = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    p = latent.project_sphere(z)
    assert torch.allclose(p[0], torch.tensor([0.6, 0.8])) and torch.equal(p[1], torch.zeros(2))
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = latent.slerp(e0, e1, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.allclose(path[1], torch.tensor([1.0, 1.0]) / math.sqrt(2))
    assert torch.allclose(path[[0, 2]], torch.stack([e0, e1]), atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(3))
    assert torch.allclose(latent.slerp(e0, e0, torch.tensor([0.3])), e0[None])
    with pytest.raises(ValueError, match="z1"):
        latent.slerp(e0, torch.tensor([2.0, 0.0]), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="z1"):
        latent.slerp(e0, torch.ones(3) / math.sqrt(3), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="eps"):
        latent.project_sphere(z, eps=0.0)


@given(st.floats(0.0, 1.0), st.integers(0, 50))
def test_slerp_stays_on_the_sphere(t, seed):
    g = torch.Generator().manual_seed(seed)
    z0, z1 = latent.project_sphere(torch.randn(2, 6, generator=g, dtype=torch.float64))
    out = latent.slerp(z0, z1, torch.tensor([t], dtype=torch.float64))
    assert abs(float(out.norm()) - 1.0) < 1e-9


@pytest.fixture(scope="module")
def glo_fit():
    X, _ = ebmlab.digits()
    return X, latent.GLO(
        latent_dim=8, hidden=64, epochs=40, batch_size=400, lr=1e-2, lr_latent=1e-1
    ).fit(X[:600])


def test_glo_learns_codes_on_the_sphere_and_reconstructs(glo_fit):
    X, glo = glo_fit
    assert glo.codes_.shape == (600, 8) and glo.n_iter_ == 40 and glo.n_features_in_ == 64
    assert isinstance(glo.history_, History) and glo.history_.per == "epoch"
    assert glo.history_.loss.shape == (40,)
    assert torch.allclose(glo.codes_.norm(dim=1), torch.ones(600), atol=1e-5)
    assert float(glo.history_.loss[-1]) < 0.5 * float(glo.history_.loss[0])
    baseline = float(((X[:600] - X[:600].mean(0)) ** 2).sum(1).mean())
    assert float(glo.energy(X[:600], glo.codes_).mean()) < 0.4 * baseline


def test_glo_encodes_new_samples_by_minimising_the_energy(glo_fit):
    X, glo = glo_fit
    z, e = glo.encode(X[1700:1750], steps=100, restarts=2)
    assert z.shape == (50, 8) and e.shape == (50,)
    assert torch.allclose(z.norm(dim=1), torch.ones(50), atol=1e-5)
    assert torch.allclose(e, glo.energy(X[1700:1750], z), atol=1e-5)
    z0, e0 = glo.encode(X[1700:1750], steps=0, restarts=1)
    assert float(e.mean()) < 0.7 * float(e0.mean())  # inference lowers the energy


def test_glo_history_is_the_mean_energy_of_each_epoch():
    X, _ = ebmlab.digits()
    glo = latent.GLO(latent_dim=4, hidden=16, epochs=1, batch_size=60, seed=3).fit(X[:150])
    # one epoch of three batches (60, 60, 30): the entry is sum(E) / N over the epoch's steps,
    # close to (not equal to: the latents move during the epoch) the energy after it
    assert glo.history_.n == 1 and glo.n_iter_ == 1
    after = float(glo.energy(X[:150], glo.codes_).mean())
    assert abs(float(glo.history_.loss[0]) - after) < 0.5 * after


def test_glo_is_an_estimator_that_stores_its_arguments(glo_fit):
    glo = latent.GLO(latent_dim=0, lr="fast")  # stored as given, checked by fit
    assert isinstance(glo, Estimator) and glo.get_params()["lr"] == "fast"
    assert repr(latent.GLO(latent_dim=4)) == "GLO(latent_dim=4)"
    for method, args in [("decode", (torch.zeros(1, 16),)), ("encode", (torch.zeros(1, 64),))]:
        with pytest.raises(NotFittedError, match="fit"):
            getattr(latent.GLO(), method)(*args)


def test_glo_rejects_bad_arguments(glo_fit):
    X, glo = glo_fit
    with pytest.raises(ValueError, match="latent_dim"):
        latent.GLO(latent_dim=0).fit(X[:10])
    with pytest.raises(ValueError, match="lr_latent"):
        latent.GLO(lr_latent=-1.0).fit(X[:10])
    with pytest.raises(TypeError, match="epochs"):
        latent.GLO(epochs=2.5).fit(X[:10])
    with pytest.raises(ValueError, match="Y"):
        latent.GLO().fit(torch.zeros(10))
    with pytest.raises(ValueError, match="z"):
        glo.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="Y"):
        glo.energy(torch.zeros(2, 5), glo.codes_[:2])
    with pytest.raises(ValueError, match="z"):
        glo.energy(X[:3], glo.codes_[:2])
    with pytest.raises(ValueError, match="restarts"):
        glo.encode(torch.zeros(2, 64), restarts=0)
    with pytest.raises(ValueError, match="Y"):
        glo.encode(torch.zeros(2, 63))


# --- the exercise checks of chapters 1 and 3 ---------------------------------------------------
@pytest.mark.parametrize("chapter", ["ch01", "ch03"])
def test_references_pass_and_stubs_report_not_implemented(chapter):
    exercises = registry()[chapter]
    assert len(exercises) >= 3

    def stub(*args):
        raise NotImplementedError

    for ex in exercises.values():
        assert ex.check(ex.reference, quiet=True).status == "pass"
        res = ex.check(stub, quiet=True)
        assert res.status == "todo" and "not implemented" in res.message


def test_ch03_free_energy_without_logsumexp_fails_with_a_hint():
    def naive(E, beta):
        return -torch.log(torch.exp(-beta * E).mean(-1)) / beta

    res = ch03.check_free_energy(naive, quiet=True)
    assert res.status == "fail" and "logsumexp" in res.message


def test_ch03_free_energy_without_the_1_over_n_fails():
    res = ch03.check_free_energy(lambda E, b: -torch.logsumexp(-b * E, -1) / b, quiet=True)
    assert res.status == "fail"


def test_ch03_nearest_latent_rejects_the_polar_angle():
    res = ch03.check_nearest_latent(lambda y, w1, w2: torch.atan2(y[:, 1], y[:, 0]), quiet=True)
    assert res.status == "fail"
    res = ch03.check_nearest_latent(lambda y, w1, w2: torch.zeros(1), quiet=True)
    assert res.status == "error" and "one angle per point" in res.message


def test_ch03_marginal_must_sum_over_z_not_take_the_minimum():
    def wrong(E, beta):
        return torch.softmax(-beta * E.min(dim=1).values, dim=0)

    assert ch03.check_marginal(wrong, quiet=True).status == "fail"


def test_ch01_checks_catch_typical_mistakes():
    # the median instead of the mean; the index of the max; raw counts instead of frequencies
    def median(x, y, edges):
        out = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (x >= lo) & (x < hi)
            out.append(y[sel].median() if sel.any() else torch.tensor(float("nan")))
        return torch.stack(out)

    assert ch01.check_conditional_mean(median, quiet=True).status == "fail"

    def argmax(y, p):
        e = ((y[:, None] - p) ** 2).sum(-1)
        return e.argmax(1), e.min(1).values

    assert ch01.check_best_hypothesis(argmax, quiet=True).status == "fail"

    def counts(c, w, n, v):
        t = torch.zeros(n, v)
        t.index_put_((c, w), torch.ones(len(w)), accumulate=True)
        return t

    assert ch01.check_masked_distribution(counts, quiet=True).status == "fail"
